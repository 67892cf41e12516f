// Fused optimizer updates: one pass over each variable instead of the ~12 element-wise kernels
// (each a full read and write of the variable) that TensorFlow.js's Adam runs per variable.
#include "common.h"
#include <cmath>

namespace tfn {
namespace {

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
  if (ng != n || nm != n || nv != n || nh != 6) throw Napi::RangeError::New(info.Env(), "adam: lengths differ");
  const float lr = h[0], beta1 = h[1], beta2 = h[2], epsilon = h[3], correction1 = h[4], correction2 = h[5];
  const float oneMinusBeta1 = 1.0f - beta1, oneMinusBeta2 = 1.0f - beta2;
  const int64_t total = static_cast<int64_t>(n);
#pragma omp parallel for simd if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t i = 0; i < total; i++) {
    const float mi = m[i] * beta1 + g[i] * oneMinusBeta1;
    const float vi = v[i] * beta2 + (g[i] * g[i]) * oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    value[i] += (mi / correction1) / (std::sqrt(vi / correction2) + epsilon) * -lr;
  }
  return info.Env().Undefined();
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) {
  exports.Set("adam", Napi::Function::New(env, adam, "adam"));
}

}  // namespace tfn
