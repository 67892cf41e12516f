// 2-D max and average pooling in NHWC with their gradients, OpenMP over the batch. Same rules as
// TensorFlow.js's cpu backend: padding cells are ignored; the max gradient goes to the first
// maximum in scan order; the average divides by the count of in-bounds cells, its gradient by the
// full window size (the cpu backend's rule; the two agree for 'valid' padding).
#include "common.h"
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace tfn {
namespace {

// [N, H, W, C, OH, OW, KH, KW, strideH, strideW, padTop, padLeft]
struct PoolGeometry {
  int N, H, W, C, OH, OW, KH, KW, sh, sw, pt, pl;
  int64_t inSize() const { return static_cast<int64_t>(N) * H * W * C; }
  int64_t outSize() const { return static_cast<int64_t>(N) * OH * OW * C; }
};

// The geometry, checked: sizes, window and strides positive, pads not negative, every window
// position within int range, and the sizes' products representable; RangeError otherwise.
PoolGeometry readGeometry(const Napi::Value& value) {
  size_t length = 0;
  const int32_t* v = intData(value, &length);
  check(length == 12, "pool geometry: expected 12 ints");
  const PoolGeometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  check(g.N > 0 && g.H > 0 && g.W > 0 && g.C > 0 && g.OH > 0 && g.OW > 0 && g.KH > 0 && g.KW > 0,
        "pool geometry: sizes must be positive");
  check(g.sh > 0 && g.sw > 0, "pool geometry: strides must be positive");
  check(g.pt >= 0 && g.pl >= 0, "pool geometry: pads must not be negative");
  check((int64_t{g.OH} - 1) * g.sh + g.KH < INT32_MAX && (int64_t{g.OW} - 1) * g.sw + g.KW < INT32_MAX,
        "pool geometry: windows out of range");
  checkedProduct({g.N, g.H, g.W, g.C}, "pool input");
  checkedProduct({g.N, g.OH, g.OW, g.C}, "pool output");
  return g;
}

void checkLength(size_t got, int64_t want, const char* what) {
  if (got != static_cast<size_t>(want)) throw RangeError(std::string("bad length of ") + what);
}

// Visits each output cell (n, oh, ow) with its window's in-bounds row/column ranges.
template <typename F>
void forEachWindow(const PoolGeometry& g, F visit) {
  const int64_t cells = g.outSize();
#pragma omp parallel for if (cells > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int n = 0; n < g.N; n++) {
    for (int oh = 0; oh < g.OH; oh++) {
      const int h0 = oh * g.sh - g.pt, hBegin = std::max(h0, 0), hEnd = std::min(h0 + g.KH, g.H);
      for (int ow = 0; ow < g.OW; ow++) {
        const int w0 = ow * g.sw - g.pl, wBegin = std::max(w0, 0), wEnd = std::min(w0 + g.KW, g.W);
        visit(n, oh, ow, hBegin, hEnd, wBegin, wEnd);
      }
    }
  }
}

// maxPool(x, y, geometry)
Napi::Value maxPool(const Napi::CallbackInfo& info) {
  size_t nx, ny;
  const float* x = floatData(info[0], &nx);
  float* y = floatData(info[1], &ny);
  PoolGeometry g = readGeometry(info[2]);
  checkLength(nx, g.inSize(), "x");
  checkLength(ny, g.outSize(), "y");
  forEachWindow(g, [&](int n, int oh, int ow, int hb, int he, int wb, int we) {
    float* out = y + ((static_cast<int64_t>(n) * g.OH + oh) * g.OW + ow) * g.C;
    std::fill(out, out + g.C, -std::numeric_limits<float>::infinity());
    for (int h = hb; h < he; h++)
      for (int w = wb; w < we; w++) {
        const float* in = x + ((static_cast<int64_t>(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];  // NaN is skipped, as in the cpu backend
      }
  });
  return info.Env().Undefined();
}

// maxPoolGrad(dy, x, dx, geometry): dx gets each dy at its window's first maximum.
Napi::Value maxPoolGrad(const Napi::CallbackInfo& info) {
  size_t ndy, nx, ndx;
  const float* dy = floatData(info[0], &ndy);
  const float* x = floatData(info[1], &nx);
  float* dx = floatData(info[2], &ndx);
  PoolGeometry g = readGeometry(info[3]);
  checkLength(ndy, g.outSize(), "dy");
  checkLength(nx, g.inSize(), "x");
  checkLength(ndx, g.inSize(), "dx");
  std::memset(dx, 0, ndx * sizeof(float));
  // Per window and channel: the maximum over the cells that are not NaN (strictly greater ones
  // replace it, so ties keep the first), then dy goes to the first cell that holds it: the cpu
  // backend's rules. Channels innermost with flat float selects, so that both passes vectorize.
  // Per thread: C running maxima, then C flags; allocated outside the region.
  const int threads = loopThreads();
  PerThread<float> scratch(threads, 2 * static_cast<size_t>(g.C));
#pragma omp parallel num_threads(threads) if (g.inSize() > kParallelMin)
  {
    float* best = scratch[omp_get_thread_num()];
    float* done = best + g.C;
    const int C = g.C;
#pragma omp for schedule(static)
    for (int n = 0; n < g.N; n++) {
      for (int oh = 0; oh < g.OH; oh++) {
        const int h0 = oh * g.sh - g.pt, hb = std::max(h0, 0), he = std::min(h0 + g.KH, g.H);
        for (int ow = 0; ow < g.OW; ow++) {
          const int w0 = ow * g.sw - g.pl, wb = std::max(w0, 0), we = std::min(w0 + g.KW, g.W);
          if (hb >= he || wb >= we) continue;
          auto at = [&](int h, int w) { return ((static_cast<int64_t>(n) * g.H + h) * g.W + w) * C; };
          for (int c = 0; c < C; c++) best[c] = -std::numeric_limits<float>::infinity();
          for (int h = hb; h < he; h++)
            for (int w = wb; w < we; w++) {
              const float* in = x + at(h, w);
#pragma omp simd
              for (int c = 0; c < C; c++) best[c] = in[c] > best[c] ? in[c] : best[c];
            }
          const float* grad = dy + ((static_cast<int64_t>(n) * g.OH + oh) * g.OW + ow) * C;
          for (int c = 0; c < C; c++) done[c] = 0.0f;
          for (int h = hb; h < he; h++)
            for (int w = wb; w < we; w++) {
              const float* in = x + at(h, w);
              float* out = dx + at(h, w);
#pragma omp simd
              for (int c = 0; c < C; c++) {
                const float sum = out[c] + grad[c];
                const float hit = in[c] == best[c] ? 1.0f - done[c] : 0.0f;
                out[c] = hit > 0.0f ? sum : out[c];  // a select, not out + hit * dy: 0 * inf is NaN
                done[c] += hit;
              }
            }
        }
      }
    }
  }
  return info.Env().Undefined();
}

// avgPool(x, y, geometry)
Napi::Value avgPool(const Napi::CallbackInfo& info) {
  size_t nx, ny;
  const float* x = floatData(info[0], &nx);
  float* y = floatData(info[1], &ny);
  PoolGeometry g = readGeometry(info[2]);
  checkLength(nx, g.inSize(), "x");
  checkLength(ny, g.outSize(), "y");
  forEachWindow(g, [&](int n, int oh, int ow, int hb, int he, int wb, int we) {
    float* out = y + ((static_cast<int64_t>(n) * g.OH + oh) * g.OW + ow) * g.C;
    std::fill(out, out + g.C, 0.0f);
    for (int h = hb; h < he; h++)
      for (int w = wb; w < we; w++) {
        const float* in = x + ((static_cast<int64_t>(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; c++) out[c] += in[c];
      }
    const float count = static_cast<float>((he - hb) * (we - wb));
    for (int c = 0; c < g.C; c++) out[c] /= count;
  });
  return info.Env().Undefined();
}

// avgPoolGrad(dy, dx, geometry): spreads each dy / (KH * KW) over its window's in-bounds cells.
Napi::Value avgPoolGrad(const Napi::CallbackInfo& info) {
  size_t ndy, ndx;
  const float* dy = floatData(info[0], &ndy);
  float* dx = floatData(info[1], &ndx);
  PoolGeometry g = readGeometry(info[2]);
  checkLength(ndy, g.outSize(), "dy");
  checkLength(ndx, g.inSize(), "dx");
  std::memset(dx, 0, ndx * sizeof(float));
  const float scale = 1.0f / static_cast<float>(g.KH * g.KW);
  forEachWindow(g, [&](int n, int oh, int ow, int hb, int he, int wb, int we) {
    const float* grad = dy + ((static_cast<int64_t>(n) * g.OH + oh) * g.OW + ow) * g.C;
    for (int h = hb; h < he; h++)
      for (int w = wb; w < we; w++) {
        float* out = dx + ((static_cast<int64_t>(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; c++) out[c] += grad[c] * scale;
      }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerPool(Napi::Env env, Napi::Object exports) {
  exportFunction<maxPool>(env, exports, "maxPool");
  exportFunction<maxPoolGrad>(env, exports, "maxPoolGrad");
  exportFunction<avgPool>(env, exports, "avgPool");
  exportFunction<avgPoolGrad>(env, exports, "avgPoolGrad");
}

}  // namespace tfn
