// Inference plans (src/infer/): a whole model's prediction as one sequence of oneDNN primitives over
// buffers the plan owns, built once per input shape and run many times.
//
// The TypeScript side (src/infer/native/executor.ts) declares values (activations: logical dims,
// data type f32 / bf16 / u8 / s8 with a quantization scale, and whether JavaScript binds the
// storage), then operations on them: convolutions whose weights arrive already folded with their
// batch norm, with ReLU and the residual Add as post-ops (eltwise, sum); pooling; batch norm that
// could not be folded; Add; ReLU; zero padding; reorders (type and scale conversions); dense layers;
// softmax. finalize() then
//   - assigns every internal value a buffer by liveness (a value's buffer is reused once its last
//     reader has run), so that one call of the plan allocates nothing;
//   - lets a convolution with a residual accumulate into the residual's own buffer (the sum
//     post-op is in place) when that residual has no later reader, else copies it in first;
//   - builds the primitives, and reorders each convolution's weights once into the layout the
//     primitive prefers (oneDNN's blocked layouts; bfloat16 or int8 with per-output-channel scales
//     as the plan's types ask). setParams() reorders them again when the model's weights change.
// run(from, to) then executes a range of operations (JavaScript runs layers the plan does not know
// in between, through bound values).
//
// Activations are NHWC (oneDNN's `acdb`, brgconv's layout on AVX-512); 2-D values are row-major.
// int8: a u8/s8 value holds round(x / scale); a convolution with int8 source takes s8 weights
// quantized per output channel (scale = max |w| / 127), adds the bias in accumulator units (oneDNN 2.x
// applies output scales after the bias) and scales by src * weights / dst; the residual sum post-op
// takes residual / dst.
//
// Every entry point checks its arguments (value and operation ids, array lengths against dims) and
// turns any C++ exception into a JavaScript Error.
#include "common.h"
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace tfn {
namespace {

struct PlanError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void require(bool ok, const std::string& what) {
  if (!ok) throw PlanError(what);
}

dt parseType(const std::string& name) {
  if (name == "f32") return dt::f32;
  if (name == "bf16") return dt::bf16;
  if (name == "u8") return dt::u8;
  if (name == "s8") return dt::s8;
  throw PlanError("value type: expected 'f32', 'bf16', 'u8' or 's8', got '" + name + "'");
}

bool isInt8(dt type) { return type == dt::u8 || type == dt::s8; }

struct Value {
  memory::dims dims;  // logical: {N, C, H, W} or {N, C}
  dt type = dt::f32;
  float scale = 1.0f;  // int8: real value = stored * scale
  bool external = false;  // storage bound by JavaScript (float32, NHWC or row-major)
  memory::desc desc;
  int slot = -1;  // internal buffer
  void* bound = nullptr;
  int def = -1, lastUse = -1;  // producing / last reading operation
  memory mem;  // internal: made by finalize(); external: handle set by bind()
  int64_t elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};

class Plan;

struct Op {
  std::string kind;
  std::vector<int> inputs, outputs;
  virtual ~Op() = default;
  virtual void build(Plan& plan) = 0;  // primitives, packed parameters (finalize)
  virtual void run(Plan& plan, stream& s) = 0;
};

class Plan {
 public:
  std::vector<Value> values;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<memory> slots;
  memory scratch;  // im2col matrices of the matmul convolutions (one at a time)
  memory blocked[2];  // blocked input and output of the Winograd convolutions (one at a time)
  void growBlocked(size_t srcBytes, size_t dstBytes) {
    const size_t want[2] = {srcBytes, dstBytes};
    for (int i = 0; i < 2; i++) {
      if (blocked[i] && blocked[i].get_desc().get_size() >= want[i]) continue;
      blocked[i] = memory(memory::desc({static_cast<int64_t>(want[i])}, dt::u8, tag::x), cpuEngine());
      std::memset(blocked[i].get_data_handle(), 0, want[i]);
    }
  }
  bool finalized = false;
  bool observing = false;
  std::vector<float> lows, highs;  // per value, while observing
  bool profiling = false;
  std::vector<double> opMs;

  Value& value(int id) {
    require(id >= 0 && id < static_cast<int>(values.size()), "unknown value " + std::to_string(id));
    return values[id];
  }
  memory& mem(int id) {
    Value& v = value(id);
    if (v.external) require(v.bound != nullptr, "value " + std::to_string(id) + " is not bound");
    return v.mem;
  }

  int addValue(const memory::dims& dims, dt type, float scale, bool external) {
    require(!finalized, "the plan is finalized");
    require(dims.size() == 4 || dims.size() == 2, "values are 4-D (N, C, H, W) or 2-D (N, C)");
    for (auto d : dims) require(d > 0 && d < (int64_t{1} << 31), "value dims must be positive");
    require(!external || type == dt::f32, "bound values are float32");
    require(std::isfinite(scale) && scale > 0, "value scale must be positive");
    Value v;
    v.dims = dims;
    v.type = type;
    v.scale = isInt8(type) ? scale : 1.0f;
    v.external = external;
    v.desc = dims.size() == 4 ? memory::desc(dims, type, tag::nhwc) : memory::desc(dims, type, tag::nc);
    require(v.elements() <= (int64_t{1} << 34), "value too large");
    values.push_back(v);
    return static_cast<int>(values.size()) - 1;
  }

  int addOp(std::unique_ptr<Op> op) {
    require(!finalized, "the plan is finalized");
    for (int id : op->inputs) value(id);
    for (int id : op->outputs) {
      Value& v = value(id);
      require(v.def < 0, "value " + std::to_string(id) + " is written twice");
    }
    const int index = static_cast<int>(ops.size());
    for (int id : op->outputs) values[id].def = index;
    for (int id : op->inputs) values[id].lastUse = std::max(values[id].lastUse, index);
    ops.push_back(std::move(op));
    return index;
  }

  // Buffers by liveness: a slot is free again after the last reader of its value ran. Aliases
  // (in-place residual sums) share their residual's slot and extend its life.
  void finalize();

  void run(int from, int to) {
    require(finalized, "the plan is not finalized");
    require(0 <= from && from <= to && to <= static_cast<int>(ops.size()), "operation range out of bounds");
    auto& s = cpuStream();
    if (profiling) opMs.assign(ops.size(), 0.0);
    for (int i = from; i < to; i++) {
      for (int id : ops[i]->inputs) mem(id);  // bound?
      for (int id : ops[i]->outputs) mem(id);
      const auto start = std::chrono::steady_clock::now();
      ops[i]->run(*this, s);
      s.wait();
      if (profiling) opMs[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (observing) for (int id : ops[i]->outputs) observe(id);
    }
  }

  // Running minimum and maximum of a float32 value's elements (calibration).
  void observe(int id) {
    Value& v = values[id];
    if (v.type != dt::f32) return;
    const float* data = static_cast<const float*>(v.mem.get_data_handle());
    const int64_t n = v.elements();
    float lo = lows[id], hi = highs[id];
#pragma omp parallel for reduction(min : lo) reduction(max : hi) if (n > kParallelMin) num_threads(loopThreads())
    for (int64_t i = 0; i < n; i++) {
      lo = std::min(lo, data[i]);
      hi = std::max(hi, data[i]);
    }
    lows[id] = lo;
    highs[id] = hi;
  }

  // Where an in-place sum may write: the residual's buffer, when nothing reads the residual later.
  std::vector<int> aliasOf;  // per value: the value whose slot it shares, or -1
};

// ---- Operations ----------------------------------------------------------------------------

primitive_attr scaledAttr(float scale) {
  primitive_attr attr;
  if (scale != 1.0f) attr.set_output_scales(0, {scale});
  return attr;
}

// dst = src converted to dst's type, layout and scale.
struct ReorderOp : Op {
  reorder prim;
  ReorderOp(int src, int dst) {
    kind = "Reorder";
    inputs = {src};
    outputs = {dst};
  }
  void build(Plan& p) override {
    Value &s = p.value(inputs[0]), &d = p.value(outputs[0]);
    require(s.dims == d.dims, "reorder: dims differ");
    prim = reorder(reorder::primitive_desc(cpuEngine(), s.desc, cpuEngine(), d.desc, scaledAttr(s.scale / d.scale)));
  }
  void run(Plan& p, stream& s) override { prim.execute(s, p.mem(inputs[0]), p.mem(outputs[0])); }
};

// Geometry of a convolution or pooling window: [KH, KW, strideH, strideW, dilationH, dilationW,
// padTop, padBottom, padLeft, padRight] (TensorFlow's dilation: 1 = none).
struct Window {
  int KH, KW, sh, sw, dh, dw, pt, pb, pl, pr;
  static Window read(const int32_t* g) { return {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9]}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims kernel() const { return {KH, KW}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
  int64_t out(int64_t in, int k, int s, int d, int p0, int p1) const { return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1; }
  void check(const Value& x, const Value& y, const char* what) const {
    require(x.dims.size() == 4 && y.dims.size() == 4, std::string(what) + ": 4-D values expected");
    require(KH > 0 && KW > 0 && sh > 0 && sw > 0 && dh > 0 && dw > 0 && pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0,
            std::string(what) + ": bad window");
    require(x.dims[0] == y.dims[0] && out(x.dims[2], KH, sh, dh, pt, pb) == y.dims[2] &&
                out(x.dims[3], KW, sw, dw, pl, pr) == y.dims[3],
            std::string(what) + ": output dims do not match the window");
  }
};

// How convolutions are computed: 'auto' (ConvOp::build times both forms where the matmul is a
// candidate and keeps the faster), or every one by the convolution primitive or by im2col + matmul
// where it is a candidate (RESNET_INFER_CONV=primitive|matmul, for A/B timing).
enum class ConvAlgorithm { kAuto, kPrimitive, kMatmul };
ConvAlgorithm convAlgorithm() {
  static const ConvAlgorithm chosen = [] {
    const char* v = std::getenv("RESNET_INFER_CONV");
    const std::string name = v ? v : "auto";
    return name == "primitive" ? ConvAlgorithm::kPrimitive : name == "matmul" ? ConvAlgorithm::kMatmul : ConvAlgorithm::kAuto;
  }();
  return chosen;
}

// col[m, (kh, kw, c)] = x[n, oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw, c], zero bytes outside
// (zero in float32, bfloat16 and int8 with zero point 0): the im2col matrix of NHWC activations whose
// elements are `bytes` wide; for a strided 1x1 convolution, the subsampled input.
void im2col(const Window& g, const memory::dims& xd, int64_t OH, int64_t OW, const char* x, char* col, size_t bytes) {
  const int64_t N = xd[0], C = xd[1], H = xd[2], W = xd[3];
  const int64_t M = N * OH * OW, rowBytes = int64_t{g.KH} * g.KW * C * static_cast<int64_t>(bytes), pixel = C * bytes;
#pragma omp parallel for if (M * rowBytes > 4 * kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t m = 0; m < M; m++) {
    const int64_t n = m / (OH * OW), oh = (m / OW) % OH, ow = m % OW;
    char* out = col + m * rowBytes;
    for (int kh = 0; kh < g.KH; kh++) {
      const int64_t ih = oh * g.sh - g.pt + int64_t{kh} * g.dh;
      for (int kw = 0; kw < g.KW; kw++, out += pixel) {
        const int64_t iw = ow * g.sw - g.pl + int64_t{kw} * g.dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) std::memset(out, 0, pixel);
        else std::memcpy(out, x + ((n * H + ih) * W + iw) * pixel, pixel);
      }
    }
  }
}

// y = post(conv(x, w) + bias [+ residual]): weights folded on the TypeScript side, HWIO float32;
// post-ops ReLU (before the sum), sum of a residual value, ReLU (after it). Computed by oneDNN's
// convolution primitive, or as a matmul of the im2col matrix (the input itself for a 1x1 stride-1
// convolution) with the weights as a [KH*KW*I, O] matrix, whose output rows are the NHWC output.
// The matmul is a candidate where the filter outweighs the activations (every 1x1 convolution, and
// those with no more output pixels N*OH*OW than channels O: the late stages of a ResNet); there it
// was up to 2x faster at batch 32 and up to 10% slower at batch 1 (224x224), measured per shape,
// so the plan times both forms on its own buffers when it is built and keeps the faster. Either way
// the weights are packed once into the layout the primitive chose.
struct ConvOp : Op {
  Window win;
  int64_t O, I;
  std::vector<float> hostWeights, hostBias;  // until finalize packs them
  bool reluBefore, reluAfter;
  int residual;
  bool inPlace = false;  // the residual's buffer is the output's
  // The three ways: the direct convolution primitive on NHWC; im2col + matmul; oneDNN's Winograd
  // convolution (3x3, stride 1, float32), which wants blocked layouts, so its input (and residual)
  // are reordered into blocked scratch buffers and its output back.
  enum class Form { kDirect, kMatmul, kWinograd };
  Form form = Form::kDirect;
  bool byMatmul = false;
  memory::desc blockedSrc, blockedDst;
  reorder toBlocked, residualToBlocked, fromBlocked;
  int64_t rows = 0, depth = 0;  // matmul: M = N*OH*OW, K = KH*KW*I
  bool pointwise = false;  // 1x1, stride 1, no padding: the input is the matmul's left operand as it is
  convolution_forward prim;
  matmul mm;
  memory::desc weightsDesc, srcDesc2d, dstDesc2d;
  memory packedWeights, bias;
  reorder residualCopy;  // residual -> dst when not in place
  std::vector<float> weightScales;
  primitive_attr attr;

  ConvOp(int x, int y, Window w, int64_t outChannels, int64_t inChannels, bool reluBefore, int residual, bool reluAfter)
      : win(w), O(outChannels), I(inChannels), reluBefore(reluBefore), reluAfter(reluAfter), residual(residual) {
    kind = "Conv";
    inputs = {x};
    if (residual >= 0) inputs.push_back(residual);
    outputs = {y};
  }

  dt weightType(const Plan& p) const {
    const dt src = p.values[inputs[0]].type;
    return isInt8(src) ? dt::s8 : src;
  }

  // Whether the matmul form is a candidate (native/src/conv_gemm.cc's rule for training).
  bool matmulCandidate() const { return convAlgorithm() != ConvAlgorithm::kPrimitive && ((win.KH == 1 && win.KW == 1) || rows <= O); }
  // Whether the Winograd form is: 3x3, stride 1, no dilation, float32.
  bool winogradCandidate(const Plan& p) const {
    return convAlgorithm() == ConvAlgorithm::kAuto && win.KH == 3 && win.KW == 3 && win.sh == 1 && win.sw == 1 && win.dh == 1 &&
           win.dw == 1 && p.values[inputs[0]].type == dt::f32 && p.values[outputs[0]].type == dt::f32;
  }

  // Bytes of im2col scratch this convolution may need (0: none).
  size_t scratchBytes(const Plan& p) const {
    if (!matmulCandidate() || pointwise) return 0;
    return static_cast<size_t>(rows * depth) * memory::data_type_size(p.values[inputs[0]].type);
  }

  // The primitive of one form, for the attributes set up in build(). False where oneDNN has none.
  bool makeForm(Plan& p, Form f) {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    form = f;
    byMatmul = f == Form::kMatmul;
    kind = f == Form::kMatmul ? "ConvMatmul" : f == Form::kWinograd ? "ConvWinograd" : "Conv";
    if (f == Form::kWinograd) {
      const memory::desc anyWeights({O, I, 3, 3}, dt::f32, tag::any), anyX(x.dims, dt::f32, tag::any), anyY(y.dims, dt::f32, tag::any);
      convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_winograd, anyX, anyWeights,
                                  memory::desc({O}, dt::f32, tag::x), anyY, win.strides(), win.dilates(), win.padL(), win.padR());
      convolution_forward::primitive_desc pd;
      try {
        pd = convolution_forward::primitive_desc(d, attr, cpuEngine());
      } catch (const dnnl::error&) {
        return false;
      }
      prim = convolution_forward(pd);
      weightsDesc = pd.weights_desc();
      blockedSrc = pd.src_desc();
      blockedDst = pd.dst_desc();
      toBlocked = reorder(reorder::primitive_desc(cpuEngine(), x.desc, cpuEngine(), blockedSrc));
      fromBlocked = reorder(reorder::primitive_desc(cpuEngine(), blockedDst, cpuEngine(), y.desc));
      if (residual >= 0) {
        const Value& r = p.value(residual);
        residualToBlocked = reorder(reorder::primitive_desc(cpuEngine(), r.desc, cpuEngine(), blockedDst, scaledAttr(r.scale / y.scale)));
      }
      p.growBlocked(blockedSrc.get_size(), blockedDst.get_size());
      packedWeights = memory(weightsDesc, cpuEngine());
      return true;
    }
    if (byMatmul) {
      srcDesc2d = memory::desc({rows, depth}, x.type, tag::ab);
      dstDesc2d = memory::desc({rows, O}, y.type, tag::ab);
      const memory::desc anyWeights({depth, O}, weightType(p), tag::any), bias2d({1, O}, dt::f32, tag::ab);
      auto pd = matmul::primitive_desc(matmul::desc(srcDesc2d, anyWeights, bias2d, dstDesc2d), attr, cpuEngine());
      mm = matmul(pd);
      weightsDesc = pd.weights_desc();
    } else {
      const memory::desc anyWeights({O, I, win.KH, win.KW}, weightType(p), tag::any);
      convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, x.desc, anyWeights,
                                  memory::desc({O}, dt::f32, tag::x), y.desc, win.strides(), win.dilates(), win.padL(), win.padR());
      auto pd = convolution_forward::primitive_desc(d, attr, cpuEngine());
      prim = convolution_forward(pd);
      weightsDesc = pd.weights_desc();
    }
    packedWeights = memory(weightsDesc, cpuEngine());
    return true;
  }

  // Milliseconds of the current form on the plan's buffers (bound values: zeroed stand-ins), best of a few.
  double timeForm(Plan& p) {
    std::memset(packedWeights.get_data_handle(), 0, weightsDesc.get_size());
    auto standIn = [&](int id) {
      Value& v = p.value(id);
      if (!v.external) return v.mem;
      memory m(v.desc, cpuEngine());
      std::memset(m.get_data_handle(), 0, v.desc.get_size());
      return m;
    };
    memory x = standIn(inputs[0]), y = standIn(outputs[0]), r = residual >= 0 ? standIn(residual) : memory();
    auto& s = cpuStream();
    double best = 1e30;
    for (int i = 0; i < kTuningRuns; i++) {
      const auto start = std::chrono::steady_clock::now();
      execute(p, s, x, y, residual >= 0 ? &r : nullptr);
      s.wait();
      if (i > 0) best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
  }
  // Runs when a plan is built: one untimed, then the best of the rest.
  static constexpr int kTuningRuns = 4;

  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    const bool int8 = isInt8(x.type);
    post_ops ops;
    if (reluBefore) ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    if (residual >= 0) {
      Value& r = p.value(residual);
      inPlace = p.aliasOf[outputs[0]] == residual;
      if (inPlace) {
        ops.append_sum(r.scale / y.scale, 0, r.type == y.type ? memory::data_type::undef : r.type);
      } else {
        ops.append_sum(1.0f);
        residualCopy = reorder(reorder::primitive_desc(cpuEngine(), r.desc, cpuEngine(), y.desc, scaledAttr(r.scale / y.scale)));
      }
    }
    if (reluAfter) ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    if (int8) {
      weightScales = scalesOf(hostWeights);
      std::vector<float> outputScales(O);
      for (int64_t o = 0; o < O; o++) outputScales[o] = x.scale * weightScales[o] / y.scale;
      attr.set_output_scales(1 << 1, outputScales);
    }
    bias = memory(memory::desc({O}, dt::f32, tag::x), cpuEngine());
    std::memset(bias.get_data_handle(), 0, O * sizeof(float));
    // The forms to try: direct always; matmul and Winograd where they are candidates. One: no timing.
    std::vector<Form> forms{Form::kDirect};
    if (matmulCandidate()) forms.push_back(Form::kMatmul);
    if (winogradCandidate(p)) forms.push_back(Form::kWinograd);
    if (convAlgorithm() == ConvAlgorithm::kMatmul && matmulCandidate()) forms = {Form::kMatmul};
    Form best = forms[0];
    if (forms.size() > 1) {
      double bestMs = 1e30;
      for (Form f : forms) {
        if (!makeForm(p, f)) continue;
        const double ms = timeForm(p);
        if (ms < bestMs) bestMs = ms, best = f;
      }
    }
    makeForm(p, best);
    pack(p, hostWeights.data(), hostBias.empty() ? nullptr : hostBias.data());
    std::vector<float>().swap(hostWeights);
    std::vector<float>().swap(hostBias);
  }

  // Per output channel: max |w| / 127 (1 where the channel is all zeros).
  std::vector<float> scalesOf(const std::vector<float>& w) const {
    std::vector<float> scales(O, 0.0f);
    for (size_t i = 0; i < w.size(); i++) {
      const int64_t o = static_cast<int64_t>(i % O);
      scales[o] = std::max(scales[o], std::fabs(w[i]));
    }
    for (auto& s : scales) s = s > 0 ? s / 127.0f : 1.0f;
    return scales;
  }

  // Weights (HWIO float32) into the primitive's layout and type; bias in accumulator units for int8.
  void pack(Plan& p, const float* w, const float* b) {
    Value& x = p.value(inputs[0]);
    // HWIO is the [KH*KW*I, O] matrix of the matmul form as it is.
    const memory::desc user = byMatmul ? memory::desc({depth, O}, dt::f32, tag::ab) : memory::desc({O, I, win.KH, win.KW}, dt::f32, tag::hwio);
    memory userMem(user, cpuEngine(), const_cast<float*>(w));
    primitive_attr reorderAttr;
    if (isInt8(x.type)) {
      std::vector<float> inverse(O);
      for (int64_t o = 0; o < O; o++) inverse[o] = 1.0f / weightScales[o];
      reorderAttr.set_output_scales(byMatmul ? 1 << 1 : 1 << 0, inverse);
    }
    auto& s = cpuStream();
    reorder(reorder::primitive_desc(cpuEngine(), user, cpuEngine(), weightsDesc, reorderAttr)).execute(s, userMem, packedWeights);
    s.wait();
    float* out = static_cast<float*>(bias.get_data_handle());
    for (int64_t o = 0; o < O; o++) {
      const float real = b ? b[o] : 0.0f;
      out[o] = isInt8(x.type) ? static_cast<float>(static_cast<double>(real) / (static_cast<double>(x.scale) * weightScales[o])) : real;
    }
  }

  // New weights (the model's changed): re-packed (int8 plans are built again instead).
  void setParams(Plan& p, const float* w, const float* b) {
    if (isInt8(p.value(inputs[0]).type)) {
      std::vector<float> copy(w, w + O * I * win.KH * win.KW);
      const std::vector<float> scales = scalesOf(copy);
      require(scales == weightScales, "int8 weights changed their scales: compile the plan again");
    }
    pack(p, w, b);
  }

  void run(Plan& p, stream& s) override {
    execute(p, s, p.mem(inputs[0]), p.mem(outputs[0]), residual >= 0 ? &p.mem(residual) : nullptr);
  }

  void execute(Plan& p, stream& s, const memory& xm, const memory& ym, const memory* rm) {
    if (form == Form::kWinograd) {
      memory xb(blockedSrc, cpuEngine(), p.blocked[0].get_data_handle()), yb(blockedDst, cpuEngine(), p.blocked[1].get_data_handle());
      toBlocked.execute(s, const_cast<memory&>(xm), xb);
      if (rm) residualToBlocked.execute(s, const_cast<memory&>(*rm), yb);
      prim.execute(s, {{DNNL_ARG_SRC, xb}, {DNNL_ARG_WEIGHTS, packedWeights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, yb}});
      fromBlocked.execute(s, yb, const_cast<memory&>(ym));
      return;
    }
    if (rm && !inPlace) residualCopy.execute(s, const_cast<memory&>(*rm), const_cast<memory&>(ym));
    if (!byMatmul) {
      prim.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, packedWeights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, ym}});
      return;
    }
    const Value &x = p.values[inputs[0]], &y = p.values[outputs[0]];
    void* src = xm.get_data_handle();
    if (!pointwise) {
      im2col(win, x.dims, y.dims[2], y.dims[3], static_cast<const char*>(src), static_cast<char*>(p.scratch.get_data_handle()),
             memory::data_type_size(x.type));
      src = p.scratch.get_data_handle();
    }
    mm.execute(s, {{DNNL_ARG_SRC, memory(srcDesc2d, cpuEngine(), src)},
                   {DNNL_ARG_WEIGHTS, packedWeights},
                   {DNNL_ARG_BIAS, memory(memory::desc({1, O}, dt::f32, tag::ab), cpuEngine(), bias.get_data_handle())},
                   {DNNL_ARG_DST, memory(dstDesc2d, cpuEngine(), ym.get_data_handle())}});
  }
};

// Max or average pooling (TensorFlow's rules: padding cells ignored); a 2-D output is global pooling.
struct PoolOp : Op {
  Window win;
  algorithm alg;
  pooling_forward prim;
  memory dstView;
  PoolOp(int x, int y, Window w, algorithm alg) : win(w), alg(alg) {
    kind = alg == algorithm::pooling_max ? "MaxPool" : "AvgPool";
    inputs = {x};
    outputs = {y};
  }
  memory::desc dstDesc(Plan& p) {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    if (y.dims.size() == 4) return y.desc;
    require(y.dims[0] == x.dims[0] && y.dims[1] == x.dims[1], "global pooling: output dims");
    return memory::desc({y.dims[0], y.dims[1], 1, 1}, y.type, tag::nhwc);
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.type == y.type && x.scale == y.scale, "pooling: input and output types differ");
    const memory::desc yd = dstDesc(p);
    if (y.dims.size() == 4) win.check(x, y, "pooling");
    else require(win.out(x.dims[2], win.KH, win.sh, win.dh, win.pt, win.pb) == 1 &&
                     win.out(x.dims[3], win.KW, win.sw, win.dw, win.pl, win.pr) == 1, "global pooling: window");
    pooling_forward::desc d(prop_kind::forward_inference, alg, x.desc, yd, win.strides(), win.kernel(), win.padL(), win.padR());
    prim = pooling_forward(pooling_forward::primitive_desc(d, cpuEngine()));
  }
  void run(Plan& p, stream& s) override {
    Value& y = p.value(outputs[0]);
    memory out = y.dims.size() == 4 ? p.mem(outputs[0]) : memory(dstDesc(p), cpuEngine(), p.mem(outputs[0]).get_data_handle());
    prim.execute(s, {{DNNL_ARG_SRC, p.mem(inputs[0])}, {DNNL_ARG_DST, out}});
  }
};

// Batch norm with the moving statistics (one that could not be folded into a convolution), ReLU optionally fused.
struct BatchNormOp : Op {
  int64_t C;
  float epsilon;
  bool relu, withScale, withShift;
  memory mean, variance, scale, shift;
  batch_normalization_forward prim;
  std::vector<float> host[4];
  BatchNormOp(int x, int y, int64_t C, float epsilon, bool relu, bool withScale, bool withShift)
      : C(C), epsilon(epsilon), relu(relu), withScale(withScale), withShift(withShift) {
    kind = "BatchNorm";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.desc == y.desc && !isInt8(x.type), "batch norm: input and output differ, or int8");
    auto flags = normalization_flags::use_global_stats;
    if (withScale) flags |= normalization_flags::use_scale;
    if (withShift) flags |= normalization_flags::use_shift;
    if (relu) flags |= normalization_flags::fuse_norm_relu;
    batch_normalization_forward::desc d(prop_kind::forward_inference, x.desc, epsilon, flags);
    prim = batch_normalization_forward(batch_normalization_forward::primitive_desc(d, cpuEngine()));
    const memory::desc cd({C}, dt::f32, tag::x);
    mean = memory(cd, cpuEngine());
    variance = memory(cd, cpuEngine());
    scale = memory(cd, cpuEngine());
    shift = memory(cd, cpuEngine());
    setParams(host[0].data(), host[1].data(), withScale ? host[2].data() : nullptr, withShift ? host[3].data() : nullptr);
    for (auto& h : host) std::vector<float>().swap(h);
  }
  void setParams(const float* m, const float* v, const float* g, const float* b) {
    std::memcpy(mean.get_data_handle(), m, C * sizeof(float));
    std::memcpy(variance.get_data_handle(), v, C * sizeof(float));
    if (g) std::memcpy(scale.get_data_handle(), g, C * sizeof(float));
    if (b) std::memcpy(shift.get_data_handle(), b, C * sizeof(float));
  }
  void run(Plan& p, stream& s) override {
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, p.mem(inputs[0])}, {DNNL_ARG_DST, p.mem(outputs[0])},
                                            {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, variance}};
    if (withScale) args[DNNL_ARG_SCALE] = scale;
    if (withShift) args[DNNL_ARG_SHIFT] = shift;
    prim.execute(s, args);
  }
};

// y = a + b (ReLU optionally): a residual Add that no convolution could take as a post-op.
struct AddOp : Op {
  bool relu;
  binary prim;
  AddOp(int a, int b, int y, bool relu) : relu(relu) {
    kind = "Add";
    inputs = {a, b};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &a = p.value(inputs[0]), &b = p.value(inputs[1]), &y = p.value(outputs[0]);
    require(a.dims == y.dims && b.dims == y.dims && !isInt8(y.type) && a.type == y.type && b.type == y.type,
            "add: operands differ from the output");
    primitive_attr attr;
    if (relu) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    prim = binary(binary::primitive_desc(binary::desc(algorithm::binary_add, a.desc, b.desc, y.desc), attr, cpuEngine()));
  }
  void run(Plan& p, stream& s) override {
    prim.execute(s, {{DNNL_ARG_SRC_0, p.mem(inputs[0])}, {DNNL_ARG_SRC_1, p.mem(inputs[1])}, {DNNL_ARG_DST, p.mem(outputs[0])}});
  }
};

// y = max(x, 0) (also on int8 values: the scale is kept).
struct ReluOp : Op {
  eltwise_forward prim;
  ReluOp(int x, int y) {
    kind = "Relu";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.desc == y.desc && x.scale == y.scale, "relu: input and output differ");
    eltwise_forward::desc d(prop_kind::forward_inference, algorithm::eltwise_relu, x.desc, 0.0f, 0.0f);
    prim = eltwise_forward(eltwise_forward::primitive_desc(d, cpuEngine()));
  }
  void run(Plan& p, stream& s) override { prim.execute(s, {{DNNL_ARG_SRC, p.mem(inputs[0])}, {DNNL_ARG_DST, p.mem(outputs[0])}}); }
};

// Zero padding of H and W: y = 0, then x copied into y's inner window (a reorder into a sub-memory).
struct PadOp : Op {
  int top, left;
  reorder prim;
  memory::desc inner;
  PadOp(int x, int y, int top, int left) : top(top), left(left) {
    kind = "Pad";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.dims.size() == 4 && y.dims.size() == 4 && x.dims[0] == y.dims[0] && x.dims[1] == y.dims[1] &&
                x.type == y.type && x.scale == y.scale && top >= 0 && left >= 0 && top + x.dims[2] <= y.dims[2] &&
                left + x.dims[3] <= y.dims[3],
            "pad: dims do not fit");
    inner = y.desc.submemory_desc(x.dims, {0, 0, top, left});
    prim = reorder(reorder::primitive_desc(cpuEngine(), x.desc, cpuEngine(), inner));
  }
  void run(Plan& p, stream& s) override {
    memory& y = p.mem(outputs[0]);
    std::memset(y.get_data_handle(), 0, y.get_desc().get_size());
    prim.execute(s, p.mem(inputs[0]), y);
  }
};

// y[N, units] = act(x[N, K] w[K, units] + bias): a dense layer, weights packed once.
struct DenseOp : Op {
  int64_t K, units;
  bool relu;
  std::vector<float> hostWeights, hostBias;
  matmul::primitive_desc pd;
  matmul prim;
  memory packedWeights, bias;
  DenseOp(int x, int y, int64_t K, int64_t units, bool relu) : K(K), units(units), relu(relu) {
    kind = "Dense";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.dims.size() == 2 && y.dims.size() == 2 && x.type == dt::f32 && y.type == dt::f32 && x.dims[1] == K &&
                y.dims[1] == units && x.dims[0] == y.dims[0],
            "dense: dims or types");
    primitive_attr attr;
    if (relu) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const memory::desc anyWeights({K, units}, dt::f32, tag::any), biasDesc({1, units}, dt::f32, tag::ab);
    pd = matmul::primitive_desc(matmul::desc(x.desc, anyWeights, biasDesc, y.desc), attr, cpuEngine());
    prim = matmul(pd);
    packedWeights = memory(pd.weights_desc(), cpuEngine());
    bias = memory(biasDesc, cpuEngine());
    setParams(hostWeights.data(), hostBias.empty() ? nullptr : hostBias.data());
    std::vector<float>().swap(hostWeights);
    std::vector<float>().swap(hostBias);
  }
  void setParams(const float* w, const float* b) {
    const memory::desc user({K, units}, dt::f32, tag::ab);
    memory userMem(user, cpuEngine(), const_cast<float*>(w));
    auto& s = cpuStream();
    reorder(userMem, packedWeights).execute(s, userMem, packedWeights);
    s.wait();
    float* out = static_cast<float*>(bias.get_data_handle());
    for (int64_t u = 0; u < units; u++) out[u] = b ? b[u] : 0.0f;
  }
  void run(Plan& p, stream& s) override {
    prim.execute(s, {{DNNL_ARG_SRC, p.mem(inputs[0])}, {DNNL_ARG_WEIGHTS, packedWeights}, {DNNL_ARG_BIAS, bias},
                     {DNNL_ARG_DST, p.mem(outputs[0])}});
  }
};

// Softmax over the last axis of a 2-D float32 value.
struct SoftmaxOp : Op {
  softmax_forward prim;
  SoftmaxOp(int x, int y) {
    kind = "Softmax";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.dims.size() == 2 && x.desc == y.desc && x.type == dt::f32, "softmax: 2-D float32 values");
    prim = softmax_forward(softmax_forward::primitive_desc(softmax_forward::desc(prop_kind::forward_inference, x.desc, 1), cpuEngine()));
  }
  void run(Plan& p, stream& s) override { prim.execute(s, {{DNNL_ARG_SRC, p.mem(inputs[0])}, {DNNL_ARG_DST, p.mem(outputs[0])}}); }
};

// A 4-D value as 2-D [N, H*W*C] (Flatten of NHWC): a copy into the row-major layout.
struct FlattenOp : Op {
  reorder prim;
  FlattenOp(int x, int y) {
    kind = "Flatten";
    inputs = {x};
    outputs = {y};
  }
  void build(Plan& p) override {
    Value &x = p.value(inputs[0]), &y = p.value(outputs[0]);
    require(x.dims.size() == 4 && y.dims.size() == 2 && x.type == y.type && x.scale == y.scale &&
                y.dims[0] == x.dims[0] && y.dims[1] == x.dims[1] * x.dims[2] * x.dims[3],
            "flatten: dims");
    const memory::desc view({x.dims[0], x.dims[1], x.dims[2], x.dims[3]}, y.type, tag::nhwc);
    prim = reorder(reorder::primitive_desc(cpuEngine(), x.desc, cpuEngine(), view));
  }
  void run(Plan& p, stream& s) override {
    Value& x = p.value(inputs[0]);
    memory view(memory::desc(x.dims, x.type, tag::nhwc), cpuEngine(), p.mem(outputs[0]).get_data_handle());
    prim.execute(s, p.mem(inputs[0]), view);
  }
};

void Plan::finalize() {
  require(!finalized, "the plan is finalized already");
  const int count = static_cast<int>(values.size());
  aliasOf.assign(count, -1);
  // In-place residual sums: the output takes the residual's buffer when the residual is internal,
  // of the same size per element, and read by nothing after this operation.
  auto rootOf = [&](int v) {
    while (aliasOf[v] >= 0) v = aliasOf[v];
    return v;
  };
  for (size_t i = 0; i < ops.size(); i++) {
    auto* conv = dynamic_cast<ConvOp*>(ops[i].get());
    if (!conv || conv->residual < 0) continue;
    Value &r = values[conv->residual], &y = values[conv->outputs[0]];
    const bool sameSize = r.desc.get_size() == y.desc.get_size() && memory::data_type_size(r.type) == memory::data_type_size(y.type);
    if (!r.external && !y.external && r.lastUse == static_cast<int>(i) && sameSize && r.def >= 0 &&
        rootOf(conv->inputs[0]) != rootOf(conv->residual)) {
      aliasOf[conv->outputs[0]] = conv->residual;
    }
  }
  // Liveness: a value is live from its definition to its last use (aliases extend their root's).
  std::vector<int> root(count);
  for (int v = 0; v < count; v++) root[v] = rootOf(v);
  std::vector<int> end(count, -1);
  for (int v = 0; v < count; v++) {
    if (values[v].external) continue;
    require(values[v].def >= 0 || values[v].lastUse < 0, "value " + std::to_string(v) + " is read but never written");
    const int last = std::max(values[v].lastUse, values[v].def);
    end[root[v]] = std::max(end[root[v]], last);
  }
  // Greedy: in order of definition, each root value takes the smallest free slot that fits (or grows one).
  std::vector<size_t> slotBytes;
  std::vector<int> slotFreeAfter;  // the operation after which the slot is free
  std::vector<int> order;
  for (int v = 0; v < count; v++) if (!values[v].external && root[v] == v && values[v].def >= 0) order.push_back(v);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return values[a].def < values[b].def; });
  for (int v : order) {
    const size_t bytes = values[v].desc.get_size();
    // Among the free slots: the smallest one that fits, else the largest one (grown).
    int fits = -1, largest = -1;
    for (size_t s = 0; s < slotBytes.size(); s++) {
      if (slotFreeAfter[s] >= values[v].def) continue;  // still in use (or read by the op that writes v)
      const int i = static_cast<int>(s);
      if (slotBytes[s] >= bytes && (fits < 0 || slotBytes[s] < slotBytes[fits])) fits = i;
      if (largest < 0 || slotBytes[s] > slotBytes[largest]) largest = i;
    }
    int best = fits >= 0 ? fits : largest;
    if (best < 0) {
      slotBytes.push_back(bytes);
      slotFreeAfter.push_back(end[v]);
      best = static_cast<int>(slotBytes.size()) - 1;
    } else {
      slotBytes[best] = std::max(slotBytes[best], bytes);
      slotFreeAfter[best] = end[v];
    }
    values[v].slot = best;
  }
  for (size_t s = 0; s < slotBytes.size(); s++) {
    slots.emplace_back(memory::desc({static_cast<int64_t>(std::max<size_t>(slotBytes[s], 64))}, dt::u8, tag::x), cpuEngine());
    std::memset(slots.back().get_data_handle(), 0, slots.back().get_desc().get_size());  // no garbage (denormals) when timing forms
  }
  for (int v = 0; v < count; v++) {
    Value& value = values[v];
    if (value.external) {
      value.mem = memory(value.desc, cpuEngine(), DNNL_MEMORY_NONE);
      continue;
    }
    const int slot = values[root[v]].slot;
    if (slot < 0) continue;  // never written nor read
    value.slot = slot;
    value.mem = memory(value.desc, cpuEngine(), slots[slot].get_data_handle());
  }
  // The im2col scratch the largest matmul candidate needs.
  size_t scratchBytes = 64;
  for (auto& op : ops) {
    if (auto* conv = dynamic_cast<ConvOp*>(op.get())) {
      Value& y = values[conv->outputs[0]];
      const Window& w = conv->win;
      conv->pointwise = w.KH == 1 && w.KW == 1 && w.sh == 1 && w.sw == 1 && w.pt + w.pb + w.pl + w.pr == 0;
      conv->rows = y.dims[0] * y.dims[2] * y.dims[3];
      conv->depth = int64_t{w.KH} * w.KW * conv->I;
      scratchBytes = std::max(scratchBytes, conv->scratchBytes(*this));
    }
  }
  scratch = memory(memory::desc({static_cast<int64_t>(scratchBytes)}, dt::u8, tag::x), cpuEngine());
  for (auto& op : ops) op->build(*this);
  finalized = true;
}

// ---- The plans, and the functions JavaScript calls ------------------------------------------

std::unordered_map<int, std::unique_ptr<Plan>> plans;
int lastPlanId = 0;

Plan& planOf(const Napi::Value& id) {
  require(id.IsNumber(), "plan id: expected a number");
  auto it = plans.find(id.As<Napi::Number>().Int32Value());
  require(it != plans.end(), "unknown or disposed plan");
  return *it->second;
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  require(info.Length() > i && info[i].IsNumber(), std::string(what) + ": expected a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  require(std::floor(d) == d && std::fabs(d) < 2e9, std::string(what) + ": expected an integer");
  return static_cast<int>(d);
}

bool boolArg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].ToBoolean(); }

const float* floats(const Napi::CallbackInfo& info, size_t i, int64_t want, const char* what) {
  require(info.Length() > i, std::string(what) + ": missing");
  size_t n = 0;
  const float* data = floatData(info[i], &n);
  require(static_cast<int64_t>(n) == want, std::string(what) + ": expected " + std::to_string(want) + " floats, got " + std::to_string(n));
  return data;
}

const float* optionalFloats(const Napi::CallbackInfo& info, size_t i, int64_t want, const char* what) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return floats(info, i, want, what);
}

const int32_t* ints(const Napi::CallbackInfo& info, size_t i, size_t want, const char* what) {
  require(info.Length() > i, std::string(what) + ": missing");
  size_t n = 0;
  const int32_t* data = intData(info[i], &n);
  require(n == want, std::string(what) + ": expected " + std::to_string(want) + " ints");
  return data;
}

// Runs body; every C++ exception becomes a JavaScript Error (a Napi::Error passes through).
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("inference plan: oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("inference plan: ") + e.what());
  }
}

Napi::Value num(const Napi::CallbackInfo& info, double v) { return Napi::Number::New(info.Env(), v); }

// inferCreatePlan(): a new empty plan's id.
Napi::Value createPlan(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    plans.emplace(++lastPlanId, std::make_unique<Plan>());
    return num(info, lastPlanId);
  });
}

// inferDisposePlan(plan): frees its buffers and packed weights (unknown ids are ignored).
Napi::Value disposePlan(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    plans.erase(intArg(info, 0, "plan"));
    return info.Env().Undefined();
  });
}

// inferValue(plan, dims: Int32Array [N, H, W, C] or [N, C], type, scale, bound): a value's id.
Napi::Value addValue(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    require(info.Length() > 1, "dims: missing");
    size_t n = 0;
    const int32_t* d = intData(info[1], &n);
    require(n == 4 || n == 2, "dims: expected [N, H, W, C] or [N, C]");
    const memory::dims dims = n == 4 ? memory::dims{d[0], d[3], d[1], d[2]} : memory::dims{d[0], d[1]};
    require(info.Length() > 3 && info[2].IsString() && info[3].IsNumber(), "type and scale expected");
    return num(info, p.addValue(dims, parseType(info[2].As<Napi::String>().Utf8Value()),
                                info[3].As<Napi::Number>().FloatValue(), boolArg(info, 4)));
  });
}

// inferConv(plan, x, y, weights HWIO, bias | null, window Int32Array(10), reluBefore, residual (-1: none), reluAfter)
Napi::Value addConv(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int x = intArg(info, 1, "x"), y = intArg(info, 2, "y");
    const Window win = Window::read(ints(info, 5, 10, "window"));
    Value &xv = p.value(x), &yv = p.value(y);
    win.check(xv, yv, "conv");
    const int64_t I = xv.dims[1], O = yv.dims[1];
    const float* w = floats(info, 3, int64_t{win.KH} * win.KW * I * O, "conv weights");
    const float* b = optionalFloats(info, 4, O, "conv bias");
    const int residual = intArg(info, 7, "residual");
    if (residual >= 0) require(p.value(residual).dims == yv.dims, "conv: residual dims differ from the output's");
    const bool outInt8 = isInt8(yv.type), inInt8 = isInt8(xv.type);
    require(inInt8 ? (outInt8 || yv.type == dt::f32) : (yv.type == xv.type || (xv.type == dt::bf16 && yv.type == dt::f32)),
            "conv: unsupported input/output types");
    auto op = std::make_unique<ConvOp>(x, y, win, O, I, boolArg(info, 6), residual, boolArg(info, 8));
    op->hostWeights.assign(w, w + int64_t{win.KH} * win.KW * I * O);
    if (b) op->hostBias.assign(b, b + O);
    return num(info, p.addOp(std::move(op)));
  });
}

// inferPool(plan, x, y, 'max' | 'avg', window Int32Array(10)); y 2-D: global pooling (window = the image).
Napi::Value addPool(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int x = intArg(info, 1, "x"), y = intArg(info, 2, "y");
    require(info.Length() > 3 && info[3].IsString(), "pool kind: expected 'max' or 'avg'");
    const std::string kind = info[3].As<Napi::String>().Utf8Value();
    require(kind == "max" || kind == "avg", "pool kind: expected 'max' or 'avg'");
    const Window win = Window::read(ints(info, 4, 10, "window"));
    p.value(x);
    p.value(y);
    return num(info, p.addOp(std::make_unique<PoolOp>(x, y, win, kind == "max" ? algorithm::pooling_max
                                                                                : algorithm::pooling_avg_exclude_padding)));
  });
}

// inferBatchNorm(plan, x, y, mean, variance, gamma | null, beta | null, epsilon, relu)
Napi::Value addBatchNorm(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int x = intArg(info, 1, "x"), y = intArg(info, 2, "y");
    const int64_t C = p.value(x).dims[1];
    const float* m = floats(info, 3, C, "mean");
    const float* v = floats(info, 4, C, "variance");
    const float* g = optionalFloats(info, 5, C, "gamma");
    const float* b = optionalFloats(info, 6, C, "beta");
    require(info.Length() > 7 && info[7].IsNumber(), "epsilon: expected a number");
    const float eps = info[7].As<Napi::Number>().FloatValue();
    require(eps >= 0 && std::isfinite(eps), "epsilon: expected a non-negative number");
    p.value(y);
    auto op = std::make_unique<BatchNormOp>(x, y, C, eps, boolArg(info, 8), g != nullptr, b != nullptr);
    op->host[0].assign(m, m + C);
    op->host[1].assign(v, v + C);
    if (g) op->host[2].assign(g, g + C);
    if (b) op->host[3].assign(b, b + C);
    return num(info, p.addOp(std::move(op)));
  });
}

// inferAdd(plan, a, b, y, relu)
Napi::Value addAdd(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int a = intArg(info, 1, "a"), b = intArg(info, 2, "b"), y = intArg(info, 3, "y");
    p.value(a);
    p.value(b);
    p.value(y);
    return num(info, p.addOp(std::make_unique<AddOp>(a, b, y, boolArg(info, 4))));
  });
}

// inferUnary(plan, kind, x, y): 'relu', 'reorder', 'softmax', 'flatten'.
Napi::Value addUnary(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    require(info.Length() > 1 && info[1].IsString(), "kind: expected a string");
    const std::string kind = info[1].As<Napi::String>().Utf8Value();
    const int x = intArg(info, 2, "x"), y = intArg(info, 3, "y");
    p.value(x);
    p.value(y);
    std::unique_ptr<Op> op;
    if (kind == "relu") op = std::make_unique<ReluOp>(x, y);
    else if (kind == "reorder") op = std::make_unique<ReorderOp>(x, y);
    else if (kind == "softmax") op = std::make_unique<SoftmaxOp>(x, y);
    else if (kind == "flatten") op = std::make_unique<FlattenOp>(x, y);
    else throw PlanError("unknown unary operation '" + kind + "'");
    return num(info, p.addOp(std::move(op)));
  });
}

// inferPad(plan, x, y, top, left): zeros around x (bottom and right from y's dims).
Napi::Value addPad(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int x = intArg(info, 1, "x"), y = intArg(info, 2, "y");
    p.value(x);
    p.value(y);
    return num(info, p.addOp(std::make_unique<PadOp>(x, y, intArg(info, 3, "top"), intArg(info, 4, "left"))));
  });
}

// inferDense(plan, x, y, weights [K, units], bias | null, relu)
Napi::Value addDense(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    const int x = intArg(info, 1, "x"), y = intArg(info, 2, "y");
    Value &xv = p.value(x), &yv = p.value(y);
    require(xv.dims.size() == 2 && yv.dims.size() == 2, "dense: 2-D values expected");
    const int64_t K = xv.dims[1], units = yv.dims[1];
    const float* w = floats(info, 3, K * units, "dense weights");
    const float* b = optionalFloats(info, 4, units, "dense bias");
    auto op = std::make_unique<DenseOp>(x, y, K, units, boolArg(info, 5));
    op->hostWeights.assign(w, w + K * units);
    if (b) op->hostBias.assign(b, b + units);
    return num(info, p.addOp(std::move(op)));
  });
}

// inferSetParams(plan, op, ...): new parameters for a finalized operation (the model's weights
// changed): Conv (weights, bias | null), Dense (weights, bias | null), BatchNorm (mean, variance, gamma | null, beta | null).
Napi::Value setParams(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    require(p.finalized, "setParams: the plan is not finalized");
    const int index = intArg(info, 1, "op");
    require(index >= 0 && index < static_cast<int>(p.ops.size()), "setParams: unknown operation");
    Op* op = p.ops[index].get();
    if (auto* conv = dynamic_cast<ConvOp*>(op)) {
      conv->setParams(p, floats(info, 2, conv->O * conv->I * conv->win.KH * conv->win.KW, "conv weights"),
                      optionalFloats(info, 3, conv->O, "conv bias"));
    } else if (auto* dense = dynamic_cast<DenseOp*>(op)) {
      dense->setParams(floats(info, 2, dense->K * dense->units, "dense weights"), optionalFloats(info, 3, dense->units, "dense bias"));
    } else if (auto* bn = dynamic_cast<BatchNormOp*>(op)) {
      const float* g = optionalFloats(info, 4, bn->C, "gamma");
      const float* b = optionalFloats(info, 5, bn->C, "beta");
      require((g != nullptr) == bn->withScale && (b != nullptr) == bn->withShift, "batch norm: gamma/beta presence changed");
      bn->setParams(floats(info, 2, bn->C, "mean"), floats(info, 3, bn->C, "variance"), g, b);
    } else {
      throw PlanError("setParams: operation " + op->kind + " has no parameters");
    }
    return info.Env().Undefined();
  });
}

// inferFinalize(plan): buffers and primitives. Returns { slots, bytes, inPlace, matmuls }.
Napi::Value finalize(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Plan& p = planOf(info[0]);
    p.finalize();
    size_t bytes = 0;
    for (auto& s : p.slots) bytes += s.get_desc().get_size();
    int inPlace = 0, matmuls = 0;
    for (int a : p.aliasOf) inPlace += a >= 0;
    for (auto& op : p.ops) matmuls += op->kind == "ConvMatmul";
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("slots", static_cast<double>(p.slots.size()));
    out.Set("bytes", static_cast<double>(bytes));
    out.Set("inPlace", static_cast<double>(inPlace));
    out.Set("matmuls", static_cast<double>(matmuls));
    return out;
  });
}

// inferBind(plan, value, Float32Array): the storage of a bound value from now on (kept by the caller).
Napi::Value bind(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    require(p.finalized, "bind: the plan is not finalized");
    Value& v = p.value(intArg(info, 1, "value"));
    require(v.external, "bind: the value is not a bound one");
    float* data = const_cast<float*>(floats(info, 2, v.elements(), "bound array"));
    v.bound = data;
    v.mem.set_data_handle(data);
    return info.Env().Undefined();
  });
}

// inferRun(plan, from, to): runs operations [from, to).
Napi::Value runPlan(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    planOf(info[0]).run(intArg(info, 1, "from"), intArg(info, 2, "to"));
    return info.Env().Undefined();
  });
}

// inferObserve(plan, on): from now on, record each float32 output's minimum and maximum (calibration); resets them.
Napi::Value observe(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Plan& p = planOf(info[0]);
    p.observing = boolArg(info, 1);
    p.lows.assign(p.values.size(), std::numeric_limits<float>::infinity());
    p.highs.assign(p.values.size(), -std::numeric_limits<float>::infinity());
    return info.Env().Undefined();
  });
}

// inferRanges(plan): Float32Array [min0, max0, min1, max1, ...] of every value observed (+-inf: none).
Napi::Value ranges(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Plan& p = planOf(info[0]);
    auto out = Napi::Float32Array::New(info.Env(), 2 * p.values.size());
    for (size_t v = 0; v < p.values.size(); v++) {
      out[2 * v] = v < p.lows.size() ? p.lows[v] : std::numeric_limits<float>::infinity();
      out[2 * v + 1] = v < p.highs.size() ? p.highs[v] : -std::numeric_limits<float>::infinity();
    }
    return out;
  });
}

// inferProfile(plan, on): with on, time each operation of the next runs; returns the last run's
// [kind, milliseconds] per operation.
Napi::Value profile(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Plan& p = planOf(info[0]);
    Napi::Array out = Napi::Array::New(info.Env());
    for (size_t i = 0; i < p.opMs.size() && i < p.ops.size(); i++) {
      Napi::Array row = Napi::Array::New(info.Env());
      row.Set(0u, Napi::String::New(info.Env(), p.ops[i]->kind));
      row.Set(1u, Napi::Number::New(info.Env(), p.opMs[i]));
      out.Set(static_cast<uint32_t>(i), row);
    }
    p.profiling = boolArg(info, 1);
    if (!p.profiling) p.opMs.clear();
    return out;
  });
}

// inferInt8(): whether this CPU runs oneDNN's int8 convolutions with VNNI (AVX512_VNNI or AVX-VNNI).
Napi::Value int8Available(const Napi::CallbackInfo& info) {
  const unsigned isa = static_cast<unsigned>(get_effective_cpu_isa());
  const unsigned vnni = static_cast<unsigned>(cpu_isa::avx512_core_vnni);
  return Napi::Boolean::New(info.Env(), (isa & vnni) == vnni);
}

}  // namespace

// Frees every plan (the JS thread that made them has ended; addon.cc).
void resetInfer() { plans.clear(); }

void registerInfer(Napi::Env env, Napi::Object exports) {
  exportFunction<createPlan>(env, exports, "inferCreatePlan");
  exportFunction<disposePlan>(env, exports, "inferDisposePlan");
  exportFunction<addValue>(env, exports, "inferValue");
  exportFunction<addConv>(env, exports, "inferConv");
  exportFunction<addPool>(env, exports, "inferPool");
  exportFunction<addBatchNorm>(env, exports, "inferBatchNorm");
  exportFunction<addAdd>(env, exports, "inferAdd");
  exportFunction<addUnary>(env, exports, "inferUnary");
  exportFunction<addPad>(env, exports, "inferPad");
  exportFunction<addDense>(env, exports, "inferDense");
  exportFunction<setParams>(env, exports, "inferSetParams");
  exportFunction<finalize>(env, exports, "inferFinalize");
  exportFunction<bind>(env, exports, "inferBind");
  exportFunction<runPlan>(env, exports, "inferRun");
  exportFunction<observe>(env, exports, "inferObserve");
  exportFunction<ranges>(env, exports, "inferRanges");
  exportFunction<profile>(env, exports, "inferProfile");
  exportFunction<int8Available>(env, exports, "inferInt8");
}

}  // namespace tfn
