// Fused optimizer updates: one pass over each variable instead of the ~12 element-wise kernels
// (each a full read and write of the variable) that TensorFlow.js's Adam runs per variable, or the
// ~5 kernels and two assignments of its momentum SGD (whose cost on a small network, ResNet-20's
// 59 variables, is the JavaScript of dispatching them: 12 ms of a 220 ms step).
#include "common.h"
#include <algorithm>
#include <cmath>

namespace tfn {
namespace {

struct AdamHyper { float lr, beta1, beta2, epsilon, correction1, correction2; };

// Elements [begin, end) of one update. Vectorized (~2x faster) thanks to binding.gyp's
// -fno-math-errno; sqrt and division stay correctly rounded, so results equal the scalar loop's.
void adamRange(
    float* value, const float* g, float* m, float* v, int64_t begin, int64_t end, const AdamHyper& p) {
  // Locals, not p's fields: the stores below could alias those, which blocks vectorizing.
  const float beta1 = p.beta1, beta2 = p.beta2, oneMinusBeta1 = 1.0f - beta1, oneMinusBeta2 = 1.0f - beta2;
  const float correction1 = p.correction1, correction2 = p.correction2, epsilon = p.epsilon, lr = p.lr;
#pragma omp simd
  for (int64_t i = begin; i < end; i++) {
    const float mi = m[i] * beta1 + g[i] * oneMinusBeta1;
    const float vi = v[i] * beta2 + (g[i] * g[i]) * oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    value[i] += (mi / correction1) / (std::sqrt(vi / correction2) + epsilon) * -lr;
  }
}

// adam(value, gradient, m, v, [learningRate, beta1, beta2, epsilon, 1 - beta1^t, 1 - beta2^t]):
// updates value, m and v in place, in the order of TensorFlow.js's AdamOptimizer:
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
//   value -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon).
Napi::Value adam(const Napi::CallbackInfo& info) {
  size_t n, ng, nm, nv, nh;
  float* value = floatData(info[0], &n);
  const float* g = floatData(info[1], &ng);
  float* m = floatData(info[2], &nm);
  float* v = floatData(info[3], &nv);
  const float* h = floatData(info[4], &nh);
  check(ng == n && nm == n && nv == n, "lengths differ");
  check(nh == 6, "expected 6 hyper-parameters");
  const AdamHyper p{h[0], h[1], h[2], h[3], h[4], h[5]};
  const int64_t total = static_cast<int64_t>(n);
  constexpr int64_t kChunk = 1 << 14;  // elements per call: ~200 KB of the four arrays, cache-sized
  const int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t c = 0; c < chunks; c++) adamRange(value, g, m, v, c * kChunk, std::min(total, (c + 1) * kChunk), p);
  return info.Env().Undefined();
}

// Elements [begin, end) of one momentum update, in the order of TensorFlow.js's MomentumOptimizer
// (each product and sum rounded to float32 as its kernels round them; no FMA is contracted at
// binding.gyp's baseline x86-64 flags, so the results are the same bits).
void momentumRange(float* value, const float* g, float* acc, int64_t begin, int64_t end, float c, float m, bool nesterov) {
  if (nesterov) {
#pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      const float a = m * acc[i] + g[i];
      acc[i] = a;
      value[i] = c * (g[i] + a * m) + value[i];
    }
  } else {
#pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      const float a = m * acc[i] + g[i];
      acc[i] = a;
      value[i] = c * a + value[i];
    }
  }
}

// momentum(value, gradient, accumulation, [-learningRate, momentum, nesterov ? 1 : 0]): updates value
// and accumulation in place as TensorFlow.js's MomentumOptimizer does:
//   a = m a + g;  value += -lr * a   (Nesterov: value += -lr * (g + a m)).
Napi::Value momentum(const Napi::CallbackInfo& info) {
  size_t n, ng, na, nh;
  float* value = floatData(info[0], &n);
  const float* g = floatData(info[1], &ng);
  float* acc = floatData(info[2], &na);
  const float* h = floatData(info[3], &nh);
  check(ng == n && na == n, "lengths differ");
  check(nh == 3, "expected 3 hyper-parameters");
  const float c = h[0], m = h[1];
  const bool nesterov = h[2] != 0.0f;
  const int64_t total = static_cast<int64_t>(n);
  constexpr int64_t kChunk = 1 << 14;  // elements per call: ~200 KB of the three arrays, cache-sized
  const int64_t chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t k = 0; k < chunks; k++) momentumRange(value, g, acc, k * kChunk, std::min(total, (k + 1) * kChunk), c, m, nesterov);
  return info.Env().Undefined();
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) {
  exportFunction<adam>(env, exports, "adam");
  exportFunction<momentum>(env, exports, "momentum");
}

}  // namespace tfn
