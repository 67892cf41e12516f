// The forward-only yardstick of bench/inference.sh: the rate of oneDNN's own inference 3x3
// convolution (64 -> 64 channels, 64x64 images, batch 32, NHWC activations, weights already in the
// primitive's preferred layout, bias and ReLU post-op as the compiled plans fuse them) in float32,
// bfloat16 and int8 (u8 activations, s8 weights per output channel); best of 5 timed calls each,
// in GFLOPS (2 per multiply-add; int8 counts its multiply-adds the same way).
// Build and run: g++ -O2 -std=c++17 native/tools/conv3x3_forward_rate.cpp -ldnnl -o /tmp/conv3x3f && /tmp/conv3x3f
#include <dnnl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

int main() {
  const int N = 32, C = 64, O = 64, H = 64, W = 64, K = 3;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const double flops = 2.0 * N * O * C * H * W * K * K;
  auto rate = [&](dt src, dt weights, dt dst) {
    memory::desc x({N, C, H, W}, src, tag::nhwc), y({N, O, H, W}, dst, tag::nhwc), b({O}, dt::f32, tag::x);
    memory::desc w({O, C, K, K}, weights, tag::any);
    primitive_attr attr;
    post_ops ops;
    ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    if (src == dt::u8) attr.set_output_scales(1 << 1, std::vector<float>(O, 0.01f));
    auto pd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, x, w, b, y, {1, 1}, {1, 1}, {1, 1}), attr, eng);
    memory xm(x, eng), ym(y, eng), wm(pd.weights_desc(), eng), bm(b, eng);
    convolution_forward conv(pd);
    auto call = [&] { conv.execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}}); s.wait(); };
    call();
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
      auto start = std::chrono::steady_clock::now();
      call();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return flops / best / 1e9;
  };
  const double f32 = rate(dt::f32, dt::f32, dt::f32);
  double bf16 = 0, int8 = 0;
  try { bf16 = rate(dt::bf16, dt::bf16, dt::bf16); } catch (const error&) {}
  try { int8 = rate(dt::u8, dt::s8, dt::u8); } catch (const error&) {}
  std::printf("{\"forward_float32_gflops\":%.1f,\"forward_bfloat16_gflops\":%.1f,\"forward_int8_gflops\":%.1f}\n", f32, bf16, int8);
}
