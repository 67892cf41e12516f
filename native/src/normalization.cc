// Batch normalization (TensorFlow.js's FusedBatchNorm) with per-channel statistics:
// y = (x - mean) * a[c] + offset, a = scale / sqrt(variance + epsilon) (not folded into x * a + b:
// that cancels when |mean| >> the spread of x);
// its gradient; and the per-channel moments (mean, variance) of training-mode batch norm.
#include "common.h"
#include <omp.h>
#include <cmath>
#include <algorithm>
#include <string>
#include <vector>

namespace tfn {
namespace {

// y = (x - m) a + b per channel over [rows, channels], then + residual when kResidual, then
// ReLU when kRelu (elementwise.cc's ReLU expression).
template <bool kResidual, bool kRelu>
void normalizeRows(const float* x, const float* residual, float* y, const float* m, const float* a, const float* b,
                   int64_t rows, int64_t channels) {
#pragma omp parallel for if (rows * channels > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    const float* rr = kResidual ? residual + r * channels : nullptr;
    float* yr = y + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) {
      float v = (xr[c] - m[c]) * a[c] + b[c];
      if constexpr (kResidual) v = v + rr[c];
      if constexpr (kRelu) v = v < 0 ? 0 : v;
      yr[c] = v;
    }
  }
}

// batchNorm(x, mean, variance, scale | null, offset | null, y, epsilon[, relu[, residual]]); each
// statistic has C elements (or 1), C = the innermost dimension. residual (x's length): y = ... +
// residual, the residual Add after a block's last batch norm (deferred.ts); relu: y = max(0, ...)
// (the ReLU that follows), with elementwise.cc's ReLU expression. The same float operations in the
// same order as the batch norm, the Add and the ReLU one after the other.
Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  size_t n, nm, nv, ns = 1, no = 1, ny;
  const float* x = floatData(info[0], &n);
  const float* mean = floatData(info[1], &nm);
  const float* variance = floatData(info[2], &nv);
  const float* scale = info[3].IsNull() ? nullptr : floatData(info[3], &ns);
  const float* offset = info[4].IsNull() ? nullptr : floatData(info[4], &no);
  float* y = floatData(info[5], &ny);
  const double epsilon = numberArg(info, 6, "epsilon");
  const bool relu = info.Length() > 7 && info[7].ToBoolean();
  size_t nr = n;
  const float* residual = isAbsent(info, 8) ? nullptr : floatData(info[8], &nr);
  const size_t C = std::max({nm, nv, ns, no});
  auto ok = [&](size_t k) { return k == C || k == 1; };
  check(ny == n && nr == n && C != 0 && n % C == 0 && ok(nm) && ok(nv) && ok(ns) && ok(no),
        "statistics do not match the channels");
  std::vector<float> a(C), b(C), m(C);
  for (size_t c = 0; c < C; c++) {
    const double s = scale ? scale[ns == 1 ? 0 : c] : 1.0;
    a[c] = static_cast<float>(s / std::sqrt(static_cast<double>(variance[nv == 1 ? 0 : c]) + epsilon));
    b[c] = offset ? offset[no == 1 ? 0 : c] : 0.0f;
    m[c] = mean[nm == 1 ? 0 : c];
  }
  const int64_t rows = static_cast<int64_t>(n / C), channels = static_cast<int64_t>(C);
  const auto normalize = residual ? (relu ? normalizeRows<true, true> : normalizeRows<true, false>)
                                  : (relu ? normalizeRows<false, true> : normalizeRows<false, false>);
  normalize(x, residual, y, m.data(), a.data(), b.data(), rows, channels);
  return info.Env().Undefined();
}

// Per channel over all rows of [rows, C]: sum(dy) and sum(dy (x - mean)) in double (per-thread
// partial sums, added in thread order); with dx and factor, also dx = dy * factor in the same pass.
struct ChannelSums {
  std::vector<double> dy, dyXm;
};
ChannelSums gradientSums(const float* x, const float* mean, const float* dy, int64_t rows, int64_t C,
                         const float* factor = nullptr, float* dx = nullptr) {
  const int threads = rows * C > kParallelMin ? loopThreads() : 1;
  PerThread<double> partial(threads, 2 * C);  // per thread: C sums of dy, then C of dy (x - mean)
#pragma omp parallel num_threads(threads)
  {
    double* sumDy = partial[omp_get_thread_num()];
    double* sumDyXm = sumDy + C;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; row++) {
      const float* xr = x + row * C;
      const float* dyr = dy + row * C;
      if (dx) {
        float* dxr = dx + row * C;
        for (int64_t c = 0; c < C; c++) dxr[c] = dyr[c] * factor[c];
      }
      for (int64_t c = 0; c < C; c++) {
        sumDy[c] += dyr[c];
        sumDyXm[c] += static_cast<double>(dyr[c]) * (xr[c] - mean[c]);
      }
    }
  }
  ChannelSums out{std::vector<double>(C), std::vector<double>(C)};
  for (int64_t c = 0; c < C; c++) {
    out.dy[c] = partial.total(c);
    out.dyXm[c] = partial.total(C + c);
  }
  return out;
}

// The arguments both batch-norm gradients start with: (x, mean, variance, scale | null, dy, epsilon,
// dx), checked against each other (C channels innermost; scale may be absent).
struct GradientArgs {
  const float *x, *mean, *variance, *scale, *dy;
  double epsilon;
  float* dx;
  size_t n, C;
};
GradientArgs readGradientArgs(const Napi::CallbackInfo& info) {
  GradientArgs a{};
  size_t nv, ns = 0, ndy, ndx;
  a.x = floatData(info[0], &a.n);
  a.mean = floatData(info[1], &a.C);
  a.variance = floatData(info[2], &nv);
  a.scale = info[3].IsNull() ? nullptr : floatData(info[3], &ns);
  a.dy = floatData(info[4], &ndy);
  a.epsilon = numberArg(info, 5, "epsilon");
  a.dx = floatData(info[6], &ndx);
  check(a.C != 0 && nv == a.C && (!a.scale || ns == a.C) && ndy == a.n && ndx == a.n && a.n % a.C == 0,
        "shapes do not match");
  return a;
}

// batchNormGrad(x, mean, variance, scale | null, dy, epsilon, dx, dmean, dvariance, dscale, doffset):
// the partial derivatives of FusedBatchNorm (the same ones TensorFlow.js's gradient computes with
// ~13 full-size kernels) in one pass over x and dy. Per channel c, with r = 1 / sqrt(var + eps):
//   dx = dy * scale * r;  dmean = -scale * r * sum(dy);  dvariance = -scale * r^3 / 2 * sum(dy (x - mean));
//   dscale = r * sum(dy (x - mean));  doffset = sum(dy).
Napi::Value batchNormGrad(const Napi::CallbackInfo& info) {
  const GradientArgs g = readGradientArgs(info);
  const float *x = g.x, *mean = g.mean, *variance = g.variance, *scale = g.scale, *dy = g.dy;
  const double epsilon = g.epsilon;
  float* dx = g.dx;
  const size_t n = g.n, C = g.C;
  float* outs[4];
  for (int k = 0; k < 4; k++) {
    size_t len;
    outs[k] = floatData(info[7 + k], &len);
    check(len == C, "per-channel outputs must have C elements");
  }
  std::vector<float> factor(C);  // scale * r
  std::vector<double> r(C);
  for (size_t c = 0; c < C; c++) {
    r[c] = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    factor[c] = static_cast<float>((scale ? scale[c] : 1.0) * r[c]);
  }
  const ChannelSums sums = gradientSums(x, mean, dy, static_cast<int64_t>(n / C), static_cast<int64_t>(C), factor.data(), dx);
  for (size_t c = 0; c < C; c++) {
    const double sumDy = sums.dy[c], sumDyXm = sums.dyXm[c];
    const double s = scale ? scale[c] : 1.0;
    outs[0][c] = static_cast<float>(-s * r[c] * sumDy);
    outs[1][c] = static_cast<float>(-0.5 * s * r[c] * r[c] * r[c] * sumDyXm);
    outs[2][c] = static_cast<float>(r[c] * sumDyXm);
    outs[3][c] = static_cast<float>(sumDy);
  }
  return info.Env().Undefined();
}

// batchNormTrainingGrad(x, mean, variance, scale | null, dy, epsilon, dx, dscale, doffset[, dxSums]):
// the gradient of training-mode batch norm, y = offset + scale (x - mean) r with mean and variance
// the batch's own statistics of x (r = 1 / sqrt(variance + epsilon)), so that dx includes the paths
// through the statistics: per channel, over its N positions,
//   dx = scale r (dy - sum(dy) / N - (x - mean) r^2 sum(dy (x - mean)) / N),
//   dscale = r sum(dy (x - mean)),  doffset = sum(dy).
// Two passes (the sums, then dx) where FusedBatchNorm's gradient + the moments' gradient + their Add
// take three passes writing two full-size temporaries. dxSums (C floats, optional): the per-channel
// sums of dx as written, accumulated during the second pass (float over 16 rows, then double): the gradient of the bias of
// the convolution before the batch norm, which would otherwise take one more pass over dx.
Napi::Value batchNormTrainingGrad(const Napi::CallbackInfo& info) {
  const GradientArgs g = readGradientArgs(info);
  const float *x = g.x, *mean = g.mean, *variance = g.variance, *scale = g.scale, *dy = g.dy;
  const double epsilon = g.epsilon;
  float* dx = g.dx;
  const size_t n = g.n, C = g.C;
  size_t nds, ndo, nsums = C;
  float* dscale = floatData(info[7], &nds);
  float* doffset = floatData(info[8], &ndo);
  float* dxSums = isAbsent(info, 9) ? nullptr : floatData(info[9], &nsums);
  check(nds == C && ndo == C && nsums == C, "shapes do not match");
  const int64_t rows = static_cast<int64_t>(n / C), channels = static_cast<int64_t>(C);
  const ChannelSums sums = gradientSums(x, mean, dy, rows, channels);
  // dx = a dy + b (x - mean) + k per channel ((x - mean), not b x + k': no cancellation when |mean| >> std).
  std::vector<float> a(C), b(C), k(C);
  for (size_t c = 0; c < C; c++) {
    const double sumDy = sums.dy[c], sumDyXm = sums.dyXm[c];
    const double r = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    const double s = scale ? scale[c] : 1.0;
    const double slope = -s * r * r * r * sumDyXm / static_cast<double>(rows);
    a[c] = static_cast<float>(s * r);
    b[c] = static_cast<float>(slope);
    k[c] = static_cast<float>(-s * r * sumDy / static_cast<double>(rows));
    dscale[c] = static_cast<float>(r * sumDyXm);
    doffset[c] = static_cast<float>(sumDy);
  }
  const float *as = a.data(), *bs = b.data(), *ks = k.data();
  const int threads = static_cast<int64_t>(n) > kParallelMin ? loopThreads() : 1;
  // Per thread: float sums over blocks of 16 rows (vector adds), added into double per block.
  PerThread<double> partial(threads, dxSums ? C : 0);
  PerThread<float> blocks(threads, dxSums ? C : 0);
#pragma omp parallel num_threads(threads)
  {
    double* sumDx = dxSums ? partial[omp_get_thread_num()] : nullptr;
    float* blockSum = dxSums ? blocks[omp_get_thread_num()] : nullptr;
    int inBlock = 0;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; row++) {
      const float* xr = x + row * channels;
      const float* dyr = dy + row * channels;
      float* dxr = dx + row * channels;
      if (!sumDx) {
#pragma omp simd
        for (int64_t c = 0; c < channels; c++) dxr[c] = as[c] * dyr[c] + bs[c] * (xr[c] - mean[c]) + ks[c];
        continue;
      }
#pragma omp simd
      for (int64_t c = 0; c < channels; c++) {
        dxr[c] = as[c] * dyr[c] + bs[c] * (xr[c] - mean[c]) + ks[c];
        blockSum[c] += dxr[c];
      }
      if (++inBlock == 16) {
        for (int64_t c = 0; c < channels; c++) sumDx[c] += blockSum[c], blockSum[c] = 0.0f;
        inBlock = 0;
      }
    }
    if (sumDx) {
      for (int64_t c = 0; c < channels; c++) sumDx[c] += blockSum[c];
    }
  }
  if (dxSums) {
    for (size_t c = 0; c < C; c++) dxSums[c] = static_cast<float>(partial.total(c));
  }
  return info.Env().Undefined();
}

// moments(x, mean, variance, sumDeviation): per channel (the innermost dimension, C = mean's
// length) over all other positions, the mean and the (biased) variance of tfjs-core's moments, in
// one pass: sums of d = x - shift and of d^2, with shift = the channel's first value (so that the
// sums do not cancel when |mean| >> the spread), each thread summing its rows in float over blocks
// of 16 rows, added up in double; then mean = shift + sum(d) / n, variance = sum(d^2) / n -
// (sum(d) / n)^2. sumDeviation = sum(x - mean) for the float mean, which the exact gradient needs.
Napi::Value moments(const Napi::CallbackInfo& info) {
  size_t n, C, nv, ns;
  const float* x = floatData(info[0], &n);
  float* mean = floatData(info[1], &C);
  float* variance = floatData(info[2], &nv);
  float* sumDeviation = floatData(info[3], &ns);
  check(C != 0 && n != 0 && n % C == 0 && nv == C && ns == C, "bad lengths");
  const int64_t rows = static_cast<int64_t>(n / C), channels = static_cast<int64_t>(C);
  const int threads = static_cast<int64_t>(n) > kParallelMin ? loopThreads() : 1;
  constexpr int64_t kBlock = 16;
  const std::vector<float> shift(x, x + C);
  const float* shifts = shift.data();
  // Per thread: C sums of d, then C sums of d^2, added in thread order.
  PerThread<double> sums(threads, 2 * C);
  PerThread<float> blocks(threads, 2 * C);  // per thread: C block sums, C of squares
#pragma omp parallel num_threads(threads)
  {
    double* sum = sums[omp_get_thread_num()];
    double* sumSquares = sum + C;
    float* part = blocks[omp_get_thread_num()];
    float* partSquares = part + C;
#pragma omp for schedule(static)
    for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
      std::fill(part, part + C, 0.0f);
      std::fill(partSquares, partSquares + C, 0.0f);
      for (int64_t r = r0; r < std::min(rows, r0 + kBlock); r++) {
        const float* xr = x + r * channels;
#pragma omp simd
        for (int64_t c = 0; c < channels; c++) {
          const float d = xr[c] - shifts[c];
          part[c] += d;
          partSquares[c] += d * d;
        }
      }
      for (int64_t c = 0; c < channels; c++) {
        sum[c] += part[c];
        sumSquares[c] += partSquares[c];
      }
    }
  }
  for (size_t c = 0; c < C; c++) {
    const double sumD = sums.total(c), sumD2 = sums.total(C + c);
    const double count = static_cast<double>(rows), meanD = sumD / count;
    mean[c] = static_cast<float>(shift[c] + meanD);
    variance[c] = static_cast<float>(std::max(0.0, sumD2 / count - meanD * meanD));
    sumDeviation[c] = static_cast<float>(sumD - count * (static_cast<double>(mean[c]) - shift[c]));
  }
  return info.Env().Undefined();
}

// momentsGrad(x, mean, sumDeviation, dmean, dvariance, dx): the gradient of moments wrt x, the
// partial derivatives of tfjs-core's chain in one pass: with g = dvariance / count (Mean's
// gradient) and d = x - mean, Square's gives 2 g d; Sub's adds -sum(2 g d) = -2 g sumDeviation to
// dmean, and Mean's spreads that / count.
Napi::Value momentsGrad(const Napi::CallbackInfo& info) {
  size_t n, C, ns, ndm, ndv, ndx;
  const float* x = floatData(info[0], &n);
  const float* mean = floatData(info[1], &C);
  const float* sumDeviation = floatData(info[2], &ns);
  const float* dmean = floatData(info[3], &ndm);
  const float* dvariance = floatData(info[4], &ndv);
  float* dx = floatData(info[5], &ndx);
  check(C != 0 && n % C == 0 && ns == C && ndm == C && ndv == C && ndx == n, "bad lengths");
  const float count = static_cast<float>(n / C);
  std::vector<float> g(C), spread(C);
  for (size_t c = 0; c < C; c++) {
    g[c] = dvariance[c] / count;
    spread[c] = static_cast<float>(dmean[c] - 2.0 * g[c] * sumDeviation[c]) / count;
  }
  const int64_t rows = static_cast<int64_t>(n / C), channels = static_cast<int64_t>(C);
  const float *gs = g.data(), *ss = spread.data();
#pragma omp parallel for if (static_cast<int64_t>(n) > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    float* out = dx + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) out[c] = gs[c] * ((xr[c] - mean[c]) * 2.0f) + ss[c];
  }
  return info.Env().Undefined();
}

}  // namespace

void registerNormalization(Napi::Env env, Napi::Object exports) {
  exportFunction<moments>(env, exports, "moments");
  exportFunction<momentsGrad>(env, exports, "momentsGrad");
  exportFunction<batchNorm>(env, exports, "batchNorm");
  exportFunction<batchNormGrad>(env, exports, "batchNormGrad");
  exportFunction<batchNormTrainingGrad>(env, exports, "batchNormTrainingGrad");
}

}  // namespace tfn
