// Convolutions as matrix products over TensorFlow's HWIO filters as they are, without oneDNN's
// blocked weight layouts. An HWIO filter is already the matrix W[KH*KW*C, O] that multiplies the
// im2col matrix col[N*OH*OW, KH*KW*C] of NHWC activations (each row: the KH*KW input pixels under
// one output pixel, C values each, zeros in the padding):
//   forward          y[M, O]        = col x W  (+ bias, ReLU)
//   backward data    dcol[M, D]     = dy x W^T, then summed back onto the input pixels (col2im)
//   backward filter  dW[D, O]       = col^T x dy, written in HWIO directly
// For a 1x1 convolution with stride 1 and no padding, col is the input itself: no copy at all.
//
// Why: the convolution primitives want their weights in a blocked layout, so every training step
// reorders each filter for the forward pass, again for the backward-data pass and back from the
// filter gradient; that is read and written cold from memory. Where the filter outweighs the
// activations (the late, small-image stages of a ResNet: 2x2 images, 512x512x3x3 filters of 9.4 MB),
// those copies cost more than the arithmetic. oneDNN's matmul reads the plain filter once and packs
// it in cache-sized pieces. So (the 'auto' rule): every 1x1 convolution (im2col of a strided 1x1 is
// a subsampled copy, a quarter of the input), and any convolution whose output has no more pixels
// (N*OH*OW) than channels (O), i.e. whose im2col matrix is no larger than its filter. In bfloat16
// mixed precision the operands are converted into scratch first (the filter too: a plain copy at
// half the size instead of a blocked one), as conv.cc does for the primitives. Measured in
// ResNet-50 training steps (64x64, batch 32), matmuls were as fast or faster for every 1x1 layer and
// for the 3x3 layers on 2x2 images, and slower for the 3x3 layers on larger images and the 7x7 stem.
#include "conv.h"
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <unistd.h>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace tfn {
namespace {

enum class Algorithm { kAuto, kGemm, kPrimitive };
Algorithm chosen = Algorithm::kAuto;

bool isPointwise(const Geometry& g) {
  return g.KH() == 1 && g.KW() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padTop() == 0 && g.padBottom() == 0 &&
         g.padLeft() == 0 && g.padRight() == 0;
}

int64_t rows(const Geometry& g) { return int64_t{g.N()} * g.OH() * g.OW(); }
int64_t depth(const Geometry& g) { return int64_t{g.KH()} * g.KW() * g.C(); }

// col[m, (kh, kw, c)] = x[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c], or 0 outside.
void im2col(const Geometry& g, const float* x, float* col) {
  const int64_t M = rows(g), D = depth(g), C = g.C();
  const int OH = g.OH(), OW = g.OW();
#pragma omp parallel for if (M * D > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t m = 0; m < M; m++) {
    const int64_t n = m / (int64_t{OH} * OW);
    const int oh = static_cast<int>((m / OW) % OH), ow = static_cast<int>(m % OW);
    float* out = col + m * D;
    for (int kh = 0; kh < g.KH(); kh++) {
      const int ih = oh * g.strideH() - g.padTop() + kh * g.dilationH();
      for (int kw = 0; kw < g.KW(); kw++, out += C) {
        const int iw = ow * g.strideW() - g.padLeft() + kw * g.dilationW();
        if (ih < 0 || ih >= g.H() || iw < 0 || iw >= g.W()) {
          std::memset(out, 0, C * sizeof(float));
        } else {
          std::memcpy(out, x + ((n * g.H() + ih) * g.W() + iw) * C, C * sizeof(float));
        }
      }
    }
  }
}

// dx[n, ih, iw, c] = the sum of the dcol entries that im2col copied from that input value: each
// input pixel gathers its own (no two threads write one pixel).
void col2im(const Geometry& g, const float* dcol, float* dx) {
  const int64_t pixels = int64_t{g.N()} * g.H() * g.W(), D = depth(g), C = g.C();
#pragma omp parallel for if (pixels * C > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t p = 0; p < pixels; p++) {
    const int64_t n = p / (int64_t{g.H()} * g.W());
    const int ih = static_cast<int>((p / g.W()) % g.H()), iw = static_cast<int>(p % g.W());
    float* out = dx + p * C;
    std::fill(out, out + C, 0.0f);
    for (int kh = 0; kh < g.KH(); kh++) {
      const int t = ih + g.padTop() - kh * g.dilationH();
      if (t < 0 || t % g.strideH() != 0 || t / g.strideH() >= g.OH()) continue;
      const int oh = t / g.strideH();
      for (int kw = 0; kw < g.KW(); kw++) {
        const int u = iw + g.padLeft() - kw * g.dilationW();
        if (u < 0 || u % g.strideW() != 0 || u / g.strideW() >= g.OW()) continue;
        const int ow = u / g.strideW();
        const float* from = dcol + ((n * g.OH() + oh) * g.OW() + ow) * D + (kh * g.KW() + kw) * C;
        for (int64_t c = 0; c < C; c++) out[c] += from[c];
      }
    }
  }
}

// Scratch for the im2col matrix and its gradient: grows to the largest one seen, up to half of the
// machine's memory (a geometry that asks for more is refused with a RangeError, not allocated).
float* scratch(std::vector<float>& buffer, int64_t n) {
  if (static_cast<int64_t>(buffer.size()) < n) {
    static const int64_t kMaxBytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE) / 2;
    check(n <= kMaxBytes / static_cast<int64_t>(sizeof(float)),
          "conv: the im2col matrix (" + std::to_string(n) + " floats) exceeds half of this machine's memory");
    buffer.resize(n);
  }
  return buffer.data();
}
std::vector<float> colScratch, dcolScratch;

memory::desc plain(int64_t rows, int64_t cols, dt type = dt::f32) { return {{rows, cols}, type, tag::ab}; }
memory::desc transposed(int64_t rows, int64_t cols, dt type = dt::f32) { return {{rows, cols}, type, memory::dims{1, rows}}; }

// bfloat16 mixed precision: the multiplied operands are converted (round to nearest even) into
// scratch, one slot per operand role; results and accumulation stay float32.
Bf16Scratch activationsBf16, gradientsBf16, weightsBf16;

// One matmul primitive with its operand layouts.
struct Product {
  memory::desc a, b, out, bias;
  matmul prim;
  Product(const memory::desc& a, const memory::desc& b, const memory::desc& out, bool withBias, bool relu)
      : a(a), b(b), out(out), bias(plain(1, out.dims()[1])), prim(makeDesc(withBias, relu)) {}
  matmul::primitive_desc makeDesc(bool withBias, bool relu) const {
    primitive_attr attr;
    if (relu) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    return matmul::primitive_desc(withBias ? matmul::desc(a, b, bias, out) : matmul::desc(a, b, out), attr, cpuEngine());
  }
  // aData, bData: float32, or bfloat16 when the product was made for bf16 operands.
  void run(const void* aData, const void* bData, const float* biasData, float* outData) {
    auto& s = cpuStream();
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(a, cpuEngine(), const_cast<void*>(aData))},
                                            {DNNL_ARG_WEIGHTS, memory(b, cpuEngine(), const_cast<void*>(bData))},
                                            {DNNL_ARG_DST, memory(out, cpuEngine(), outData)}};
    if (biasData) args[DNNL_ARG_BIAS] = memory(bias, cpuEngine(), const_cast<float*>(biasData));
    prim.execute(s, args);
    s.wait();
  }
};

// Products by pass, geometry, operand type and flags (bias, ReLU).
enum Pass { kForward, kBackwardData, kBackwardFilter };
using Key = std::array<int, kGeomLength + 4>;
std::map<Key, std::unique_ptr<Product>> products;

Product& product(Pass pass, const Geometry& g, bool bf16, bool withBias = false, bool relu = false) {
  Key key;
  std::copy(g.v.begin(), g.v.end(), key.begin());
  key[kGeomLength] = pass;
  key[kGeomLength + 1] = bf16;
  key[kGeomLength + 2] = withBias;
  key[kGeomLength + 3] = relu;
  auto it = products.find(key);
  if (it != products.end()) return *it->second;
  const int64_t M = rows(g), D = depth(g), O = g.O();
  const dt in = bf16 ? dt::bf16 : dt::f32;
  Product* made = pass == kForward        ? new Product(plain(M, D, in), plain(D, O, in), plain(M, O), withBias, relu)
                  : pass == kBackwardData ? new Product(plain(M, O, in), transposed(O, D, in), plain(M, D), false, false)
                                          : new Product(transposed(D, M, in), plain(M, O, in), plain(D, O), false, false);
  return *products.emplace(key, std::unique_ptr<Product>(made)).first->second;
}

// setConvAlgorithm('auto' | 'gemm' | 'primitive'): how convolutions are computed from now
// on ('gemm' and 'primitive' force one way for every geometry; tests compare both with cpu).
Napi::Value setConvAlgorithm(const Napi::CallbackInfo& info) {
  const std::string name = stringArg(info, 0, "algorithm");
  if (name == "auto") chosen = Algorithm::kAuto;
  else if (name == "gemm") chosen = Algorithm::kGemm;
  else if (name == "primitive") chosen = Algorithm::kPrimitive;
  else throw TypeError("conv algorithm: expected 'auto', 'gemm' or 'primitive'");
  return info.Env().Undefined();
}

// The operand as the product wants it: the float32 array itself, or its bf16 copy in `slot`.
const void* operand(const float* data, int64_t n, bool bf16, Bf16Scratch& slot) {
  return bf16 ? slot.convert(data, n, cpuStream()) : data;
}

// bfloat16 copies of named filters: in mixed-precision training each filter is converted once per
// step (forward and backward data share it), in prediction once.
FilterCopies bf16Filters;

// The filter as the product wants it: float32 as is, or its bf16 copy (kept when named).
const void* filterOperand(const float* w, int64_t n, bool bf16, FilterName name) {
  if (!bf16) return w;
  if (name.key == 0) return weightsBf16.convert(w, n, cpuStream());
  const memory::desc wanted({n}, dt::bf16, tag::a);
  return bf16Filters.get(name, wanted, [&](memory& copy) { weightsBf16.convertTo(w, n, copy.get_data_handle(), cpuStream()); })
      .get_data_handle();
}

// The im2col matrix of x (x itself for a pointwise convolution).
const float* columns(const Geometry& g, const float* x) {
  if (isPointwise(g)) return x;
  float* col = scratch(colScratch, checkedProduct({rows(g), depth(g)}, "im2col"));
  im2col(g, x, col);
  return col;
}

}  // namespace

bool convByGemm(const Geometry& g) {
  if (chosen != Algorithm::kAuto) return chosen == Algorithm::kGemm;
  return (g.KH() == 1 && g.KW() == 1) || rows(g) <= g.O();
}

void gemmConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu, bool bf16,
                     FilterName filter) {
  const int64_t M = rows(g), D = depth(g);
  product(kForward, g, bf16, bias != nullptr, relu)
      .run(operand(columns(g, x), M * D, bf16, activationsBf16), filterOperand(w, D * g.O(), bf16, filter), bias, y);
}

void gemmConvBackwardData(const Geometry& g, const float* dy, const float* w, float* dx, bool bf16, FilterName filter) {
  const int64_t M = rows(g), D = depth(g), O = g.O();
  float* dcol = isPointwise(g) ? dx : scratch(dcolScratch, checkedProduct({M, D}, "im2col"));
  product(kBackwardData, g, bf16).run(operand(dy, M * O, bf16, gradientsBf16), filterOperand(w, D * O, bf16, filter), nullptr, dcol);
  if (!isPointwise(g)) col2im(g, dcol, dx);
}

void gemmConvBackwardFilter(const Geometry& g, const float* x, const float* dy, float* dw, bool bf16) {
  const int64_t M = rows(g), D = depth(g), O = g.O();
  product(kBackwardFilter, g, bf16)
      .run(operand(columns(g, x), M * D, bf16, activationsBf16), operand(dy, M * O, bf16, gradientsBf16), nullptr, dw);
}

size_t releaseGemmFilter(int64_t key) { return bf16Filters.release(key); }

void resetConvGemm() {
  bf16Filters.clear();
  chosen = Algorithm::kAuto;
}

void registerConvGemm(Napi::Env env, Napi::Object exports) {
  exportFunction<setConvAlgorithm>(env, exports, "setConvAlgorithm");
}

}  // namespace tfn
