// The rate of oneDNN's own 3x3 convolution on this machine (issue 4's yardstick): 64 -> 64 channels,
// 64x64 images, batch 32, NHWC, float32, weights already in the primitives' preferred layouts;
// forward, backward data and backward weights, best of 5 timed calls each, in GFLOPS (2 per MAC).
// Build and run: g++ -O2 -std=c++17 native/tools/conv3x3_rate.cpp -ldnnl -o /tmp/conv3x3 && /tmp/conv3x3
#include <dnnl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

template <typename F>
double bestSeconds(stream& s, F call) {
  call();
  s.wait();
  double best = 1e9;
  for (int i = 0; i < 5; i++) {
    auto start = std::chrono::steady_clock::now();
    call();
    s.wait();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

int main() {
  const int N = 32, C = 64, O = 64, H = 64, W = 64, K = 3;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc src({N, C, H, W}, dt::f32, tag::nhwc), dst({N, O, H, W}, dt::f32, tag::nhwc);
  memory::desc weights({O, C, K, K}, dt::f32, tag::any);
  const memory::dims strides{1, 1}, pad{1, 1};
  auto fwd = convolution_forward::primitive_desc(
      convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src, weights, dst, strides, pad, pad), eng);
  auto bwdData = convolution_backward_data::primitive_desc(
      convolution_backward_data::desc(algorithm::convolution_direct, src, weights, dst, strides, pad, pad), eng, fwd);
  auto bwdWeights = convolution_backward_weights::primitive_desc(
      convolution_backward_weights::desc(algorithm::convolution_direct, src, weights, dst, strides, pad, pad), eng, fwd);
  memory x(src, eng), y(dst, eng), dx(src, eng), w(fwd.weights_desc(), eng), wData(bwdData.weights_desc(), eng),
      dw(bwdWeights.diff_weights_desc(), eng);
  convolution_forward f(fwd);
  convolution_backward_data bd(bwdData);
  convolution_backward_weights bw(bwdWeights);
  const double flops = 2.0 * N * O * C * H * W * K * K;
  const double tf = bestSeconds(s, [&] { f.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}}); });
  const double tbd = bestSeconds(s, [&] { bd.execute(s, {{DNNL_ARG_DIFF_DST, y}, {DNNL_ARG_WEIGHTS, wData}, {DNNL_ARG_DIFF_SRC, dx}}); });
  const double tbw = bestSeconds(s, [&] { bw.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, y}, {DNNL_ARG_DIFF_WEIGHTS, dw}}); });
  std::printf("{\"forward_gflops\":%.1f,\"backward_data_gflops\":%.1f,\"backward_weights_gflops\":%.1f,\"three_passes_gflops\":%.1f}\n",
              flops / tf / 1e9, flops / tbd / 1e9, flops / tbw / 1e9, 3 * flops / (tf + tbd + tbw) / 1e9);
}
