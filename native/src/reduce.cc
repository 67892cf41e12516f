// Sum / Mean over a leading or a trailing block of dimensions (the layouts batch-norm statistics
// and bias gradients need in NHWC), multi-threaded, accumulated in double like the cpu backend.
#include "common.h"
#include <omp.h>
#include <vector>

namespace tfn {
namespace {

// x viewed as [outer, inner]. leading: out[j] = scale * sum_i x[i, j]; else out[i] = scale * sum_j x[i, j].
void reduce(const float* x, float* out, int64_t outer, int64_t inner, bool leading, double scale) {
  const bool parallel = outer * inner > kParallelMin;
  if (!leading) {
#pragma omp parallel for if (parallel) num_threads(loopThreads()) schedule(static)
    for (int64_t i = 0; i < outer; i++) {
      double s = 0;
      const float* row = x + i * inner;
      for (int64_t j = 0; j < inner; j++) s += row[j];
      out[i] = static_cast<float>(s * scale);
    }
    return;
  }
  const int threads = parallel ? loopThreads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * inner, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = partial.data() + static_cast<size_t>(omp_get_thread_num()) * inner;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < outer; i++) {
      const float* row = x + i * inner;
#pragma omp simd
      for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
    }
  }
  for (int64_t j = 0; j < inner; j++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += partial[static_cast<size_t>(t) * inner + j];
    out[j] = static_cast<float>(s * scale);
  }
}

// reduce(x, out, outer, inner, leading, scale)
Napi::Value reduceOp(const Napi::CallbackInfo& info) {
  size_t nx, n;
  const float* x = floatData(info[0], &nx);
  float* out = floatData(info[1], &n);
  const int64_t outer = info[2].As<Napi::Number>().Int64Value();
  const int64_t inner = info[3].As<Napi::Number>().Int64Value();
  const bool leading = info[4].ToBoolean();
  const double scale = info[5].As<Napi::Number>().DoubleValue();
  if (outer < 0 || inner < 0 || static_cast<size_t>(outer * inner) != nx ||
      n != static_cast<size_t>(leading ? inner : outer)) {
    throw Napi::RangeError::New(info.Env(), "reduce: lengths do not match");
  }
  reduce(x, out, outer, inner, leading, scale);
  return info.Env().Undefined();
}

}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, reduceOp, "reduce"));
}

}  // namespace tfn
