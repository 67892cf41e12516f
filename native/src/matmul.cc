// Batched matrix products through oneDNN's matmul: out[b] = act(op(a[b]) op(b[b]) + bias), where a
// transposed operand is described by its strides (no copy), bias is one value per output column and
// act is the identity or ReLU. Primitives are cached by shape and flags.
#include "common.h"
#include <array>
#include <map>
#include <memory>
#include <unordered_map>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace tfn {
namespace {

// [batch, M, N, K, transposeA, transposeB, hasBias, relu]
using Key = std::array<int64_t, 8>;

struct MatMul {
  memory::desc a, b, bias, out;
  matmul::primitive_desc pd;
  matmul prim;
  explicit MatMul(const Key& k)
      : a({k[0], k[1], k[3]}, dt::f32, k[4] ? memory::dims{k[1] * k[3], 1, k[1]} : memory::dims{k[1] * k[3], k[3], 1}),
        b({k[0], k[3], k[2]}, dt::f32, k[5] ? memory::dims{k[3] * k[2], 1, k[3]} : memory::dims{k[3] * k[2], k[2], 1}),
        bias({1, 1, k[2]}, dt::f32, tag::abc),
        out({k[0], k[1], k[2]}, dt::f32, tag::abc),
        pd(makeDesc(k)),
        prim(pd) {}

  matmul::primitive_desc makeDesc(const Key& k) const {
    primitive_attr attr;
    if (k[7]) {
      post_ops ops;
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    auto d = k[6] ? matmul::desc(a, b, bias, out) : matmul::desc(a, b, out);
    return matmul::primitive_desc(d, attr, cpuEngine());
  }
};

std::map<Key, std::unique_ptr<MatMul>> cache;

// matMul(a, b, bias | null, out, [batch, M, N, K], transposeA, transposeB, relu)
Napi::Value matMul(const Napi::CallbackInfo& info) {
  size_t nd;
  const int32_t* d = intData(info[4], &nd);
  check(nd == 4, "expected dims [batch, M, N, K]");
  const int64_t batch = d[0], M = d[1], N = d[2], K = d[3];
  check(batch > 0 && M > 0 && N > 0 && K > 0, "sizes must be positive");
  float* a = floatArray(info[0], checkedProduct({batch, M, K}, "a"), "a");
  float* b = floatArray(info[1], checkedProduct({batch, K, N}, "b"), "b");
  float* bias = info[2].IsNull() ? nullptr : floatArray(info[2], N, "bias");
  float* out = floatArray(info[3], checkedProduct({batch, M, N}, "out"), "out");
  const Key key{batch, M, N, K, info[5].ToBoolean() ? 1 : 0, info[6].ToBoolean() ? 1 : 0, bias ? 1 : 0,
                info[7].ToBoolean() ? 1 : 0};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::make_unique<MatMul>(key)).first;
  MatMul& m = *it->second;
  auto& s = cpuStream();
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(m.a, cpuEngine(), a)},
                                          {DNNL_ARG_WEIGHTS, memory(m.b, cpuEngine(), b)},
                                          {DNNL_ARG_DST, memory(m.out, cpuEngine(), out)}};
  if (bias) args[DNNL_ARG_BIAS] = memory(m.bias, cpuEngine(), bias);
  m.prim.execute(s, args);
  s.wait();
  return info.Env().Undefined();
}

}  // namespace

void registerMatMul(Napi::Env env, Napi::Object exports) {
  exportFunction<matMul>(env, exports, "matMul");
}

}  // namespace tfn
