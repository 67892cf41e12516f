// 2-D convolutions in NHWC with TensorFlow's HWIO filters, through oneDNN: forward (with optional
// bias and ReLU fused), backward data and backward filter. Primitives are built once per geometry
// and cached; the weights are reordered into oneDNN's preferred blocked layout on each call (they
// change every training step), except that the forward pass keeps the blocked copy of each filter
// the caller names by a key and a generation (conv.ts: the filter tensor and the count of in-place
// optimizer updates) and reuses it while both are unchanged: prediction and evaluation reorder
// each filter once.
// Precision: float32, or bfloat16 mixed precision (setConvPrecision): each convolution converts its
// float32 operands to bfloat16 (activations and gradients into scratch buffers, weights during
// their reorder), multiplies in bfloat16 with float32 accumulation, and writes float32 results,
// so everything outside the convolutions (weights, batch norm, the optimizer) stays float32.
#include "conv.h"
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace tfn {
namespace {

// The data type of the convolutions' multiplications: f32, or bf16 (mixed precision).
dt computeType = dt::f32;

convolution_forward::primitive_desc forwardDesc(const Geometry& g, bool withBias, bool relu, dt type) {
  primitive_attr attr;
  if (relu) {
    post_ops ops;
    ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto d = withBias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                g.src(type), g.anyWeights(type), g.bias(), g.dst(), g.strides(),
                                                g.dilates(), g.padL(), g.padR())
                    : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                g.src(type), g.anyWeights(type), g.dst(), g.strides(), g.dilates(),
                                                g.padL(), g.padR());
  return convolution_forward::primitive_desc(d, attr, cpuEngine());
}

// A reorder between the user's HWIO weights and a primitive's preferred layout, with its buffer;
// empty when the primitive takes HWIO as is.
struct WeightsLayout {
  bool needed = false;
  memory buffer;
  reorder convert;
  WeightsLayout(const memory::desc& user, const memory::desc& wanted, bool toUser) {
    if (user == wanted) return;
    needed = true;
    buffer = memory(wanted, cpuEngine());
    convert = toUser ? reorder(reorder::primitive_desc(cpuEngine(), wanted, cpuEngine(), user))
                     : reorder(reorder::primitive_desc(cpuEngine(), user, cpuEngine(), wanted));
  }
};

Bf16Scratch activationScratch, gradientScratch;

// An operand's memory: the float32 array itself, or its bf16 copy when the primitive multiplies in bf16.
memory operand(const memory::desc& wanted, float* data, Bf16Scratch& scratch, stream& s) {
  if (wanted.data_type() == dt::f32) return memory(wanted, cpuEngine(), data);
  return memory(wanted, cpuEngine(), scratch.convert(data, wanted.get_size() / sizeof(uint16_t), s));
}

struct Forward {
  convolution_forward::primitive_desc pd;
  convolution_forward conv;
  WeightsLayout weights;
  Forward(const Geometry& g, bool withBias, bool relu, dt type)
      : pd(forwardDesc(g, withBias, relu, type)), conv(pd), weights(g.userWeights(), pd.weights_desc(), false) {}
};

// The backward passes take float32 results (diff_src, diff_weights) whatever the compute type.
struct BackwardData {
  convolution_backward_data::primitive_desc pd;
  convolution_backward_data conv;
  WeightsLayout weights;
  BackwardData(const Geometry& g, dt type)
      : pd(convolution_backward_data::desc(algorithm::convolution_direct, g.src(), g.anyWeights(type), g.dst(type),
                                           g.strides(), g.dilates(), g.padL(), g.padR()),
           cpuEngine(), forwardDesc(g, false, false, type)),
        conv(pd),
        weights(g.userWeights(), pd.weights_desc(), false) {}
};

struct BackwardFilter {
  convolution_backward_weights::primitive_desc pd;
  convolution_backward_weights conv;
  WeightsLayout weights;
  BackwardFilter(const Geometry& g, dt type)
      : pd(convolution_backward_weights::desc(algorithm::convolution_direct, g.src(type), g.anyWeights(),
                                              g.dst(type), g.strides(), g.dilates(), g.padL(), g.padR()),
           cpuEngine(), forwardDesc(g, false, false, type)),
        conv(pd),
        weights(g.userWeights(), pd.diff_weights_desc(), true) {}
};

// Built primitives, by geometry, compute type (+ flags for the forward pass). A ResNet-50 has a
// few dozen.
using Key = std::array<int, kGeomLength + 3>;
template <typename P>
P& cached(std::map<Key, std::unique_ptr<P>>& cache, const Geometry& g, int flagA, int flagB,
          std::function<P*()> make) {
  Key key;
  std::copy(g.v.begin(), g.v.end(), key.begin());
  key[kGeomLength] = flagA;
  key[kGeomLength + 1] = flagB;
  key[kGeomLength + 2] = static_cast<int>(computeType);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::unique_ptr<P>(make())).first;
  return *it->second;
}

std::map<Key, std::unique_ptr<Forward>> forwardCache;
std::map<Key, std::unique_ptr<BackwardData>> backwardDataCache;
std::map<Key, std::unique_ptr<BackwardFilter>> backwardFilterCache;

// Forward filters in the primitive's layout, by the caller's name.
FilterCopies blockedFilters;

// The forward weights for this call: the user's HWIO array when the primitive takes it as is, else
// the blocked copy (reordered now unless the kept one is current).
memory forwardWeights(Forward& f, memory& userW, FilterName name, stream& s) {
  if (!f.weights.needed) return userW;
  if (name.key == 0) {
    f.weights.convert.execute(s, userW, f.weights.buffer);
    return f.weights.buffer;
  }
  return blockedFilters.get(name, f.pd.weights_desc(), [&](memory& copy) { f.weights.convert.execute(s, userW, copy); });
}

// The filter's name passed at info[index] (key) and info[index + 1] (generation); unnamed when absent.
FilterName readFilterName(const Napi::CallbackInfo& info, size_t index) {
  if (isAbsent(info, index)) return {};
  return {integerArg(info, index, "filterKey"), numberArg(info, index + 1, "generation")};
}

// conv2d(x, filter, bias | null, y, geometry, relu, filterKey, generation): y = act(conv(x, filter)
// + bias). filterKey 0: no cached blocked copy.
Napi::Value conv2d(const Napi::CallbackInfo& info) {
  const Geometry g = Geometry::read(info[4]);
  float* x = floatArray(info[0], g.inputSize(), "x");
  float* filter = floatArray(info[1], g.filterSize(), "filter");
  float* bias = info[2].IsNull() ? nullptr : floatArray(info[2], g.O(), "bias");
  float* y = floatArray(info[3], g.outputSize(), "y");
  const bool relu = info[5].ToBoolean();
  const FilterName name = readFilterName(info, 6);
  if (convByGemm(g)) {
    gemmConvForward(g, x, filter, bias, y, relu, computeType == dt::bf16, name);
    return info.Env().Undefined();
  }
  Forward& f = cached<Forward>(forwardCache, g, bias != nullptr, relu,
                               [&] { return new Forward(g, bias != nullptr, relu, computeType); });
  auto& s = cpuStream();
  memory userW(g.userWeights(), cpuEngine(), filter);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, operand(f.pd.src_desc(), x, activationScratch, s)},
      {DNNL_ARG_WEIGHTS, forwardWeights(f, userW, name, s)},
      {DNNL_ARG_DST, memory(g.dst(), cpuEngine(), y)}};
  if (bias) args[DNNL_ARG_BIAS] = memory(g.bias(), cpuEngine(), bias);
  f.conv.execute(s, args);
  s.wait();
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, geometry[, filterKey, generation]): dx = gradient of the
// convolution wrt its input (the filter's name lets conv_gemm.cc reuse the forward pass's bf16 copy).
Napi::Value conv2dBackpropInput(const Napi::CallbackInfo& info) {
  const Geometry g = Geometry::read(info[3]);
  float* dy = floatArray(info[0], g.outputSize(), "dy");
  float* filter = floatArray(info[1], g.filterSize(), "filter");
  float* dx = floatArray(info[2], g.inputSize(), "dx");
  const FilterName name = readFilterName(info, 4);
  if (convByGemm(g)) {
    gemmConvBackwardData(g, dy, filter, dx, computeType == dt::bf16, name);
    return info.Env().Undefined();
  }
  BackwardData& b = cached<BackwardData>(backwardDataCache, g, 0, 0, [&] { return new BackwardData(g, computeType); });
  auto& s = cpuStream();
  memory userW(g.userWeights(), cpuEngine(), filter);
  if (b.weights.needed) b.weights.convert.execute(s, userW, b.weights.buffer);
  b.conv.execute(s, {{DNNL_ARG_DIFF_DST, operand(b.pd.diff_dst_desc(), dy, gradientScratch, s)},
                     {DNNL_ARG_WEIGHTS, b.weights.needed ? b.weights.buffer : userW},
                     {DNNL_ARG_DIFF_SRC, memory(g.src(), cpuEngine(), dx)}});
  s.wait();
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dfilter, geometry): dfilter (HWIO) = gradient wrt the filter.
Napi::Value conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  const Geometry g = Geometry::read(info[3]);
  float* x = floatArray(info[0], g.inputSize(), "x");
  float* dy = floatArray(info[1], g.outputSize(), "dy");
  float* dfilter = floatArray(info[2], g.filterSize(), "dfilter");
  if (convByGemm(g)) {
    gemmConvBackwardFilter(g, x, dy, dfilter, computeType == dt::bf16);
    return info.Env().Undefined();
  }
  BackwardFilter& b =
      cached<BackwardFilter>(backwardFilterCache, g, 0, 0, [&] { return new BackwardFilter(g, computeType); });
  auto& s = cpuStream();
  memory userDW(g.userWeights(), cpuEngine(), dfilter);
  b.conv.execute(s, {{DNNL_ARG_SRC, operand(b.pd.src_desc(), x, activationScratch, s)},
                     {DNNL_ARG_DIFF_DST, operand(b.pd.diff_dst_desc(), dy, gradientScratch, s)},
                     {DNNL_ARG_DIFF_WEIGHTS, b.weights.needed ? b.weights.buffer : userDW}});
  if (b.weights.needed) b.weights.convert.execute(s, b.weights.buffer, userDW);
  s.wait();
  return info.Env().Undefined();
}

// releaseFilter(filterKey): frees the copies kept for that key (its tensor was disposed): the
// blocked one and conv_gemm.cc's bfloat16 one. Returns how many copies are kept after it.
Napi::Value releaseFilter(const Napi::CallbackInfo& info) {
  const int64_t key = integerArg(info, 0, "filterKey");
  return Napi::Number::New(info.Env(), static_cast<double>(blockedFilters.release(key) + releaseGemmFilter(key)));
}

// Whether this CPU has native bf16 convolutions. ISAs are bit sets: an ISA with bf16 instructions
// contains all of avx512_core_bf16's bits.
bool cpuHasBf16() {
  const unsigned isa = static_cast<unsigned>(get_effective_cpu_isa());
  const unsigned bf16 = static_cast<unsigned>(cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

// setConvPrecision('float32' | 'bfloat16'): the convolutions' compute type from now on. Returns
// false (and keeps float32) for bfloat16 where this CPU has no native bf16 convolutions.
Napi::Value setConvPrecision(const Napi::CallbackInfo& info) {
  const std::string name = stringArg(info, 0, "precision");
  if (name == "float32") {
    computeType = dt::f32;
    return Napi::Boolean::New(info.Env(), true);
  }
  if (name != "bfloat16") throw TypeError("precision: expected 'float32' or 'bfloat16'");
  const bool supported = cpuHasBf16();
  if (supported) computeType = dt::bf16;
  return Napi::Boolean::New(info.Env(), supported);
}

// convPrecisions(): the compute types this CPU offers, float32 first.
Napi::Value convPrecisions(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  out.Set(0u, Napi::String::New(info.Env(), "float32"));
  if (cpuHasBf16()) out.Set(1u, Napi::String::New(info.Env(), "bfloat16"));
  return out;
}

Napi::Value convPrecision(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), computeType == dt::bf16 ? "bfloat16" : "float32");
}

}  // namespace

Geometry Geometry::read(const Napi::Value& value) {
  size_t length = 0;
  const int32_t* data = intData(value, &length);
  check(length == kGeomLength, "conv geometry: expected 17 ints");
  Geometry g;
  std::copy(data, data + kGeomLength, g.v.begin());
  check(g.N() > 0 && g.H() > 0 && g.W() > 0 && g.C() > 0 && g.O() > 0 && g.KH() > 0 && g.KW() > 0 && g.OH() > 0 &&
            g.OW() > 0,
        "conv geometry: sizes must be positive");
  check(g.strideH() > 0 && g.strideW() > 0, "conv geometry: strides must be positive");
  check(g.dilationH() > 0 && g.dilationW() > 0, "conv geometry: dilations must be positive");
  check(g.padTop() >= 0 && g.padBottom() >= 0 && g.padLeft() >= 0 && g.padRight() >= 0,
        "conv geometry: pads must not be negative");
  // Padded extents and the output sizes oneDNN derives from them, in 64 bits; within int range,
  // every pixel index computed from them is too.
  const int64_t paddedH = int64_t{g.H()} + g.padTop() + g.padBottom(), paddedW = int64_t{g.W()} + g.padLeft() + g.padRight();
  const int64_t extentH = (int64_t{g.KH()} - 1) * g.dilationH() + 1, extentW = (int64_t{g.KW()} - 1) * g.dilationW() + 1;
  check(paddedH < INT32_MAX && paddedW < INT32_MAX && extentH <= paddedH && extentW <= paddedW,
        "conv geometry: the filter does not fit the padded input");
  check((paddedH - extentH) / g.strideH() + 1 == g.OH() && (paddedW - extentW) / g.strideW() + 1 == g.OW(),
        "conv geometry: output size does not match input, filter, strides and pads");
  checkedProduct({g.N(), g.H(), g.W(), g.C()}, "conv input");
  checkedProduct({g.N(), g.OH(), g.OW(), g.O()}, "conv output");
  checkedProduct({g.KH(), g.KW(), g.C(), g.O()}, "conv filter");
  return g;
}

void resetConv() {
  blockedFilters.clear();
  computeType = dt::f32;
}

void registerConv(Napi::Env env, Napi::Object exports) {
  exportFunction<releaseFilter>(env, exports, "releaseFilter");
  exportFunction<setConvPrecision>(env, exports, "setConvPrecision");
  exportFunction<convPrecision>(env, exports, "convPrecision");
  exportFunction<convPrecisions>(env, exports, "convPrecisions");
  exportFunction<conv2d>(env, exports, "conv2d");
  exportFunction<conv2dBackpropInput>(env, exports, "conv2dBackpropInput");
  exportFunction<conv2dBackpropFilter>(env, exports, "conv2dBackpropFilter");
}

}  // namespace tfn
