// Sum / Mean over one contiguous block of dimensions, x viewed as [batch, reduced, kept] (batch-norm
// statistics and bias gradients reduce the leading block of NHWC, global average pooling the middle
// H, W block, row sums the trailing block), multi-threaded, accumulated in double like the cpu
// backend; and its gradient's broadcast back over the reduced block.
#include "common.h"
#include <omp.h>
#include <algorithm>
#include <vector>

namespace tfn {
namespace {

struct Layout {
  int64_t batch, reduced, kept;
  int64_t size() const { return batch * reduced * kept; }
};

// [batch, reduced, kept] from arguments first..first+2, checked: not negative, product representable.
Layout readLayout(const Napi::CallbackInfo& info, int first) {
  Layout l{integerArg(info, first, "batch"), integerArg(info, first + 1, "reduced"), integerArg(info, first + 2, "kept")};
  checkedProduct({l.batch, l.reduced, l.kept}, "layout");
  return l;
}

// out[b, k] = scale * sum_r x[b, r, k].
void reduce(const float* x, float* out, const Layout& l, double scale) {
  const bool parallel = l.size() > kParallelMin;
  if (l.kept == 1 || l.batch >= loopThreads() * 4) {
    // Enough independent outputs: each thread sums whole [reduced, kept] blocks, into its own
    // accumulators (allocated outside the region).
    const int threads = loopThreads();
    PerThread<double> accumulators(threads, l.kept == 1 ? 0 : static_cast<size_t>(l.kept));
#pragma omp parallel for if (parallel) num_threads(threads) schedule(static)
    for (int64_t b = 0; b < l.batch; b++) {
      const float* block = x + b * l.reduced * l.kept;
      if (l.kept == 1) {
        double s = 0;
        for (int64_t r = 0; r < l.reduced; r++) s += block[r];
        out[b] = static_cast<float>(s * scale);
        continue;
      }
      double* acc = accumulators[omp_get_thread_num()];
      std::fill(acc, acc + l.kept, 0.0);
      for (int64_t r = 0; r < l.reduced; r++) {
        const float* row = block + r * l.kept;
#pragma omp simd
        for (int64_t k = 0; k < l.kept; k++) acc[k] += row[k];
      }
      for (int64_t k = 0; k < l.kept; k++) out[b * l.kept + k] = static_cast<float>(acc[k] * scale);
    }
    return;
  }
  // Few outputs rows (batch-norm statistics: batch 1): per-thread partial sums over the rows.
  const int threads = parallel ? loopThreads() : 1;
  for (int64_t b = 0; b < l.batch; b++) {
    const float* block = x + b * l.reduced * l.kept;
    PerThread<double> partial(threads, static_cast<size_t>(l.kept));
#pragma omp parallel num_threads(threads)
    {
      double* acc = partial[omp_get_thread_num()];
#pragma omp for schedule(static)
      for (int64_t r = 0; r < l.reduced; r++) {
        const float* row = block + r * l.kept;
#pragma omp simd
        for (int64_t k = 0; k < l.kept; k++) acc[k] += row[k];
      }
    }
    for (int64_t k = 0; k < l.kept; k++) out[b * l.kept + k] = static_cast<float>(partial.total(k) * scale);
  }
}

// reduce(x, out, batch, reduced, kept, scale)
Napi::Value reduceOp(const Napi::CallbackInfo& info) {
  size_t nx, n;
  const float* x = floatData(info[0], &nx);
  float* out = floatData(info[1], &n);
  const Layout l = readLayout(info, 2);
  const double scale = numberArg(info, 5, "scale");
  check(static_cast<size_t>(l.size()) == nx && n == static_cast<size_t>(l.batch * l.kept), "lengths do not match");
  reduce(x, out, l, scale);
  return info.Env().Undefined();
}

// spread(dy, out, batch, reduced, kept, scale): out[b, r, k] = scale * dy[b, k] (the gradient of a
// Sum or Mean over the reduced block).
Napi::Value spreadOp(const Napi::CallbackInfo& info) {
  size_t ndy, n;
  const float* dy = floatData(info[0], &ndy);
  float* out = floatData(info[1], &n);
  const Layout l = readLayout(info, 2);
  const float scale = static_cast<float>(numberArg(info, 5, "scale"));
  check(static_cast<size_t>(l.size()) == n && ndy == static_cast<size_t>(l.batch * l.kept), "lengths do not match");
  const int64_t rows = l.batch * l.reduced;
#pragma omp parallel for if (l.size() > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    const float* from = dy + (row / l.reduced) * l.kept;
    float* to = out + row * l.kept;
#pragma omp simd
    for (int64_t k = 0; k < l.kept; k++) to[k] = from[k] * scale;
  }
  return info.Env().Undefined();
}

}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exportFunction<reduceOp>(env, exports, "reduce");
  exportFunction<spreadOp>(env, exports, "spread");
}

}  // namespace tfn
