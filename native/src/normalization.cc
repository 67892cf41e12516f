// Batch normalization (TensorFlow.js's FusedBatchNorm) with per-channel statistics:
// y = offset + (x - mean) * scale / sqrt(variance + epsilon), folded into y = x * a[c] + b[c].
#include "common.h"
#include <cmath>
#include <algorithm>
#include <vector>

namespace tfn {
namespace {

// batchNorm(x, mean, variance, scale | null, offset | null, y, epsilon); each statistic has C
// elements (or 1), C = the innermost dimension.
Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  size_t n, nm, nv, ns = 1, no = 1, ny;
  const float* x = floatData(info[0], &n);
  const float* mean = floatData(info[1], &nm);
  const float* variance = floatData(info[2], &nv);
  const float* scale = info[3].IsNull() ? nullptr : floatData(info[3], &ns);
  const float* offset = info[4].IsNull() ? nullptr : floatData(info[4], &no);
  float* y = floatData(info[5], &ny);
  const double epsilon = info[6].As<Napi::Number>().DoubleValue();
  const size_t C = std::max({nm, nv, ns, no});
  auto ok = [&](size_t k) { return k == C || k == 1; };
  if (ny != n || C == 0 || n % C || !ok(nm) || !ok(nv) || !ok(ns) || !ok(no)) {
    throw Napi::RangeError::New(info.Env(), "batchNorm: statistics do not match the channels");
  }
  std::vector<float> a(C), b(C);
  for (size_t c = 0; c < C; c++) {
    const double s = scale ? scale[ns == 1 ? 0 : c] : 1.0, o = offset ? offset[no == 1 ? 0 : c] : 0.0;
    const double factor = s / std::sqrt(static_cast<double>(variance[nv == 1 ? 0 : c]) + epsilon);
    a[c] = static_cast<float>(factor);
    b[c] = static_cast<float>(o - mean[nm == 1 ? 0 : c] * factor);
  }
  const int64_t rows = static_cast<int64_t>(n / C), channels = static_cast<int64_t>(C);
#pragma omp parallel for if (static_cast<int64_t>(n) > kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; c++) yr[c] = xr[c] * a[c] + b[c];
  }
  return info.Env().Undefined();
}

}  // namespace

void registerNormalization(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, batchNorm, "batchNorm"));
}

}  // namespace tfn
