// What the two ways the addon computes convolutions share: oneDNN's convolution primitives
// (conv.cc) and matrix products over the filters as they are (conv_gemm.cc). The geometry of a
// 2-D convolution as the TypeScript side passes it (NHWC activations, HWIO filters), and bfloat16
// copies of float32 operands for mixed precision.
#pragma once
#include "common.h"
#include <array>
#include <limits>
#include <map>
#include <unordered_map>
#include <vector>

namespace tfn {

// [N, H, W, C, O, KH, KW, OH, OW, strideH, strideW, dilationH, dilationW,
//  padTop, padBottom, padLeft, padRight]: TensorFlow's conventions (dilation 1 = none).
constexpr int kGeomLength = 17;
struct Geometry {
  std::array<int, kGeomLength> v;
  // The geometry passed as an Int32Array, checked: sizes, strides and dilations positive, pads not
  // negative, OH and OW the output size that oneDNN computes from the rest (so every pixel index
  // fits an int); RangeError otherwise.
  static Geometry read(const Napi::Value& value);
  int N() const { return v[0]; } int H() const { return v[1]; } int W() const { return v[2]; }
  int C() const { return v[3]; } int O() const { return v[4]; } int KH() const { return v[5]; }
  int KW() const { return v[6]; } int OH() const { return v[7]; } int OW() const { return v[8]; }
  int strideH() const { return v[9]; } int strideW() const { return v[10]; }
  int dilationH() const { return v[11]; } int dilationW() const { return v[12]; }
  int padTop() const { return v[13]; } int padBottom() const { return v[14]; }
  int padLeft() const { return v[15]; } int padRight() const { return v[16]; }
  // Element counts of the input (NHWC), the output (N, OH, OW, O) and the filter (HWIO).
  int64_t inputSize() const { return int64_t{N()} * H() * W() * C(); }
  int64_t outputSize() const { return int64_t{N()} * OH() * OW() * O(); }
  int64_t filterSize() const { return int64_t{KH()} * KW() * C() * O(); }
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  dnnl::memory::desc src(dt type = dt::f32) const { return {{N(), C(), H(), W()}, type, tag::nhwc}; }
  dnnl::memory::desc dst(dt type = dt::f32) const { return {{N(), O(), OH(), OW()}, type, tag::nhwc}; }
  dnnl::memory::desc userWeights() const { return {{O(), C(), KH(), KW()}, dt::f32, tag::hwio}; }
  dnnl::memory::desc anyWeights(dt type = dt::f32) const { return {{O(), C(), KH(), KW()}, type, tag::any}; }
  dnnl::memory::desc bias() const { return {{O()}, dt::f32, tag::x}; }
  dnnl::memory::dims strides() const { return {strideH(), strideW()}; }
  // oneDNN counts dilation from 0 (no dilation), TensorFlow from 1.
  dnnl::memory::dims dilates() const { return {dilationH() - 1, dilationW() - 1}; }
  dnnl::memory::dims padL() const { return {padTop(), padLeft()}; }
  dnnl::memory::dims padR() const { return {padBottom(), padRight()}; }
};

// Float32 -> bfloat16 copies of operands, in scratch buffers that grow to the largest tensor seen
// (one per operand slot, so that two operands of one call never share one).
class Bf16Scratch {
 public:
  // The bf16 copy of n floats (oneDNN's JIT reorder: round to nearest even, multi-threaded).
  void* convert(const float* from, int64_t n, dnnl::stream& s) {
    if (static_cast<int64_t>(buffer_.size()) < n) buffer_.resize(n);
    convertTo(from, n, buffer_.data(), s);
    return buffer_.data();
  }
  // The same into the caller's n bf16 values.
  void convertTo(const float* from, int64_t n, void* to, dnnl::stream& s) {
    using dnnl::memory;
    const memory::desc f({n}, memory::data_type::f32, memory::format_tag::a), b({n}, memory::data_type::bf16, memory::format_tag::a);
    auto it = reorders_.find(n);
    if (it == reorders_.end()) {
      it = reorders_.emplace(n, dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), f, cpuEngine(), b))).first;
    }
    memory in(f, cpuEngine(), const_cast<float*>(from)), out(b, cpuEngine(), to);
    it->second.execute(s, in, out);
  }

 private:
  std::vector<uint16_t> buffer_;
  std::map<int64_t, dnnl::reorder> reorders_;
};

// Whether this convolution is computed as matrix products (conv_gemm.cc) rather than by oneDNN's
// convolution primitives.
bool convByGemm(const Geometry& g);
// A filter as the caller names it (conv.ts): a key per tensor data (0: none) and the count of
// in-place optimizer updates, so that converted copies are reused while both are unchanged.
struct FilterName {
  int64_t key = 0;
  double generation = 0;
};

// Converted copies of named filters (conv.cc: oneDNN's blocked layouts; conv_gemm.cc: bfloat16),
// each kept with the generation and layout it was made in and made again when either changes (a
// kernel of another geometry or precision may want another layout). Callers handle unnamed filters.
class FilterCopies {
 public:
  // The copy of `name` in layout `wanted`; fill(memory&) writes it when the kept one is missing or stale.
  template <typename Fill>
  const dnnl::memory& get(FilterName name, const dnnl::memory::desc& wanted, Fill fill) {
    auto it = copies_.find(name.key);
    if (it != copies_.end() && it->second.layout == wanted && it->second.generation == name.generation) {
      return it->second.buffer;
    }
    if (it == copies_.end() || !(it->second.layout == wanted)) {
      it = copies_.insert_or_assign(name.key, Copy{kNotFilled, wanted, dnnl::memory(wanted, cpuEngine())}).first;
    }
    // Marked current only once filled: a fill that throws leaves the copy to be made again.
    it->second.generation = kNotFilled;
    fill(it->second.buffer);
    it->second.generation = name.generation;
    return it->second.buffer;
  }
  // Frees the copy kept for `key`; returns how many are kept.
  size_t release(int64_t key) {
    copies_.erase(key);
    return copies_.size();
  }
  void clear() { copies_.clear(); }

 private:
  // A generation no name has (NaN equals nothing): the copy is not filled.
  static constexpr double kNotFilled = std::numeric_limits<double>::quiet_NaN();
  struct Copy {
    double generation;
    dnnl::memory::desc layout;
    dnnl::memory buffer;
  };
  std::unordered_map<int64_t, Copy> copies_;
};

// y = act(conv(x, w) + bias), bias may be null. bf16: multiply in bfloat16 (float32 results).
void gemmConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu, bool bf16,
                     FilterName filter);
// dx = gradient wrt the input.
void gemmConvBackwardData(const Geometry& g, const float* dy, const float* w, float* dx, bool bf16, FilterName filter);
// dw (HWIO) = gradient wrt the filter.
void gemmConvBackwardFilter(const Geometry& g, const float* x, const float* dy, float* dw, bool bf16);
// Frees the bfloat16 copy kept for a filter key; returns how many copies are kept.
size_t releaseGemmFilter(int64_t key);

}  // namespace tfn
