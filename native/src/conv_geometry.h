// The geometry of a 2-D convolution as the TypeScript side passes it (NHWC activations, HWIO
// filters), shared by the two ways the addon computes convolutions: oneDNN's convolution
// primitives (conv.cc) and matrix products over the filters as they are (conv_gemm.cc).
#pragma once
#include "common.h"
#include <array>

namespace tfn {

// [N, H, W, C, O, KH, KW, OH, OW, strideH, strideW, dilationH, dilationW,
//  padTop, padBottom, padLeft, padRight]: TensorFlow's conventions (dilation 1 = none).
constexpr int kGeomLength = 17;
struct Geometry {
  std::array<int, kGeomLength> v;
  int N() const { return v[0]; } int H() const { return v[1]; } int W() const { return v[2]; }
  int C() const { return v[3]; } int O() const { return v[4]; } int KH() const { return v[5]; }
  int KW() const { return v[6]; } int OH() const { return v[7]; } int OW() const { return v[8]; }
  int strideH() const { return v[9]; } int strideW() const { return v[10]; }
  int dilationH() const { return v[11]; } int dilationW() const { return v[12]; }
  int padTop() const { return v[13]; } int padLeft() const { return v[15]; }
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  dnnl::memory::desc src(dt type = dt::f32) const { return {{N(), C(), H(), W()}, type, tag::nhwc}; }
  dnnl::memory::desc dst(dt type = dt::f32) const { return {{N(), O(), OH(), OW()}, type, tag::nhwc}; }
  dnnl::memory::desc userWeights() const { return {{O(), C(), KH(), KW()}, dt::f32, tag::hwio}; }
  dnnl::memory::desc anyWeights(dt type = dt::f32) const { return {{O(), C(), KH(), KW()}, type, tag::any}; }
  dnnl::memory::desc bias() const { return {{O()}, dt::f32, tag::x}; }
  dnnl::memory::dims strides() const { return {v[9], v[10]}; }
  // oneDNN counts dilation from 0 (no dilation), TensorFlow from 1.
  dnnl::memory::dims dilates() const { return {v[11] - 1, v[12] - 1}; }
  dnnl::memory::dims padL() const { return {v[13], v[15]}; }
  dnnl::memory::dims padR() const { return {v[14], v[16]}; }
};

// Whether this float32 convolution is computed as matrix products (conv_gemm.cc) rather than by
// oneDNN's convolution primitives.
bool convByGemm(const Geometry& g);
// y = act(conv(x, w) + bias), bias may be null.
void gemmConvForward(const Geometry& g, const float* x, const float* w, const float* bias, float* y, bool relu);
// dx = gradient wrt the input.
void gemmConvBackwardData(const Geometry& g, const float* dy, const float* w, float* dx);
// dw (HWIO) = gradient wrt the filter.
void gemmConvBackwardFilter(const Geometry& g, const float* x, const float* dy, float* dw);

}  // namespace tfn
