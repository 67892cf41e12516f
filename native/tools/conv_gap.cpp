// Per-shape cost of what the addon does around oneDNN's convolutions (ResNet-50@64, batch 32, NHWC):
// the convolution alone (weights already in the preferred layout) vs the same plus the per-call
// reorders between TensorFlow's HWIO filters and that layout. Milliseconds per call, summed over
// the 53 convolutions by the count of each shape.
// Build and run: g++ -O2 -std=c++17 native/tools/conv_gap.cpp -ldnnl -o /tmp/conv_gap && /tmp/conv_gap
#include <dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
static engine eng(engine::kind::cpu, 0);
static stream s(eng);
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
template <typename F> double timed(F fn) {
  fn(); s.wait();
  const int iterations = 5;
  double t = now();
  for (int i = 0; i < iterations; i++) fn();
  s.wait();
  return (now() - t) / iterations * 1e3;
}
struct Sums { double fwd = 0, fwdR = 0, bd = 0, bdR = 0, bw = 0, bwR = 0; } total;
void shape(int count, int H, int C, int K, int R, int st, int pad, bool needBackwardData = true) {
  const int N = 32, Ho = (H + 2 * pad - R) / st + 1;
  memory::desc src({N, C, H, H}, dt::f32, tag::nhwc), dst({N, K, Ho, Ho}, dt::f32, tag::nhwc);
  memory::desc wAny({K, C, R, R}, dt::f32, tag::any), wUser({K, C, R, R}, dt::f32, tag::hwio), bias({K}, dt::f32, tag::x);
  memory::dims S = {st, st}, P = {pad, pad};
  convolution_forward::primitive_desc fpd(
      convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src, wAny, bias, dst, S, P, P), eng);
  convolution_backward_data::primitive_desc dpd(
      convolution_backward_data::desc(algorithm::convolution_direct, src, wAny, dst, S, P, P), eng, fpd);
  convolution_backward_weights::primitive_desc wpd(
      convolution_backward_weights::desc(algorithm::convolution_direct, src, wAny, dst, S, P, P), eng, fpd);
  // MISALIGN=<bytes>: operands start that many bytes past a 64-byte boundary, like the arrays of
  // V8 (malloc'd or mmap'd ArrayBuffers: 16 bytes past one) that the addon receives.
  static const size_t offset = getenv("MISALIGN") ? atoi(getenv("MISALIGN")) : 0;
  static std::vector<void*> blocks;
  auto user = [&](const memory::desc& d) {
    char* p = static_cast<char*>(aligned_alloc(64, d.get_size() + 64));
    blocks.push_back(p);
    return memory(d, eng, p + offset);
  };
  memory x = user(src), y = user(dst), b(bias, eng), hwio = user(wUser), dx = user(src);
  memory wf(fpd.weights_desc(), eng), wd(dpd.weights_desc(), eng), dw(wpd.diff_weights_desc(), eng);
  convolution_forward f(fpd); convolution_backward_data bd(dpd); convolution_backward_weights bw(wpd);
  reorder toF(hwio, wf), toD(hwio, wd), fromW(dw, hwio);
  auto fwd = [&] { f.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, wf}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}}); };
  auto bdat = [&] { bd.execute(s, {{DNNL_ARG_DIFF_DST, y}, {DNNL_ARG_WEIGHTS, wd}, {DNNL_ARG_DIFF_SRC, dx}}); };
  auto bwei = [&] { bw.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, y}, {DNNL_ARG_DIFF_WEIGHTS, dw}}); };
  double a = timed(fwd), ar = timed([&] { toF.execute(s, hwio, wf); fwd(); });
  double d = needBackwardData ? timed(bdat) : 0, dr = needBackwardData ? timed([&] { toD.execute(s, hwio, wd); bdat(); }) : 0;
  double w = timed(bwei), wr = timed([&] { bwei(); fromW.execute(s, dw, hwio); });
  printf("%3d x %2dx%-2d %4d->%-4d k%d s%d | fwd %6.3f +reorder %6.3f | bwd_data %6.3f +reorder %6.3f | bwd_w %6.3f +reorder %6.3f | %s / %s / %s\n",
         count, H, H, C, K, R, st, a, ar, d, dr, w, wr, fpd.impl_info_str(), dpd.impl_info_str(), wpd.impl_info_str());
  total.fwd += count * a; total.fwdR += count * ar; total.bd += count * d; total.bdR += count * dr;
  total.bw += count * w; total.bwR += count * wr;
}
int main() {
  shape(1, 70, 3, 64, 7, 2, 0, false);
  shape(1, 15, 64, 64, 1, 1, 0); shape(3, 15, 64, 64, 3, 1, 1); shape(4, 15, 64, 256, 1, 1, 0); shape(2, 15, 256, 64, 1, 1, 0);
  shape(1, 15, 256, 128, 1, 2, 0); shape(1, 15, 256, 512, 1, 2, 0); shape(4, 8, 128, 128, 3, 1, 1); shape(4, 8, 128, 512, 1, 1, 0); shape(3, 8, 512, 128, 1, 1, 0);
  shape(1, 8, 512, 256, 1, 2, 0); shape(1, 8, 512, 1024, 1, 2, 0); shape(6, 4, 256, 256, 3, 1, 1); shape(6, 4, 256, 1024, 1, 1, 0); shape(5, 4, 1024, 256, 1, 1, 0);
  shape(1, 4, 1024, 512, 1, 2, 0); shape(1, 4, 1024, 2048, 1, 2, 0); shape(3, 2, 512, 512, 3, 1, 1); shape(3, 2, 512, 2048, 1, 1, 0); shape(2, 2, 2048, 512, 1, 1, 0);
  printf("total ms: fwd %.1f (+reorder %.1f) bwd_data %.1f (+reorder %.1f) bwd_w %.1f (+reorder %.1f)\n",
         total.fwd, total.fwdR, total.bd, total.bdR, total.bw, total.bwR);
}
