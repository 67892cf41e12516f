// Element-wise kernels on float32, multi-threaded with OpenMP: binary ops where each operand is
// either full-size or broadcast along the trailing dimensions (a scalar, or a per-channel vector
// in NHWC), unary ops, and Tile. The TypeScript side checks the broadcast pattern; here an
// operand shorter than the output is read with period = its length.
#include "common.h"
#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace tfn {
namespace {

// RELU_GRAD: a * step(b), the gradient of ReLU(b) given the incoming gradient a;
// SQUARE_GRAD: a * (2 b), the gradient of b^2 given a; ADD_RELU: ReLU(a + b) (a residual Add and
// the ReLU after it, deferred.ts).
enum Binary { ADD = 0, SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, RELU_GRAD, SQUARE_GRAD, ADD_RELU };
enum Unary { RELU = 0, SQRT, RSQRT, SQUARE, NEG, EXP, LOG, ABS, STEP, RECIPROCAL, RELU6, SIGMOID };

// NaN tests are written `x != x`: std::isnan kept GCC from vectorizing these loops (the ReLU
// gradient ran 2.5x slower than a multiply).
template <int OP>
inline float apply(float a, float b) {
  if constexpr (OP == ADD) return a + b;
  if constexpr (OP == SUB) return a - b;
  if constexpr (OP == MUL) return a * b;
  if constexpr (OP == DIV) return a / b;
  if constexpr (OP == SQUARED_DIFFERENCE) return (a - b) * (a - b);
  if constexpr (OP == MAXIMUM) return (a != a) | (a > b) ? a : b;
  if constexpr (OP == MINIMUM) return (a != a) | (a < b) ? a : b;
  if constexpr (OP == RELU_GRAD) {
    float step = b > 0 ? 1.0f : 0.0f;
    return a * (b != b ? b : step);  // two flat selects: GCC vectorizes these, not a nested one
  }
  if constexpr (OP == SQUARE_GRAD) return a * (b * 2.0f);
  if constexpr (OP == ADD_RELU) {
    const float s = a + b;
    return s < 0 ? 0 : s;  // the ReLU expression of unary()
  }
  return 0;
}

// out[r * period + j] = a[..] OP b[..], where a full-size operand is read at r * period + j and a
// broadcast one at j. period = the broadcast operand's length (the output's length when neither is).
template <int OP>
void binary(const float* a, size_t na, const float* b, size_t nb, float* out, size_t n) {
  const int64_t total = static_cast<int64_t>(n);
  if (na == n && nb == n) {
#pragma omp parallel for simd if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
    for (int64_t i = 0; i < total; i++) out[i] = apply<OP>(a[i], b[i]);
    return;
  }
  if (na != n && nb != n) {
    // A scalar with a periodic operand: every row of the output is the same; compute one, copy it.
    const size_t period = na == 1 ? nb : na;
    for (size_t j = 0; j < period; j++) out[j] = apply<OP>(a[na == 1 ? 0 : j], b[nb == 1 ? 0 : j]);
    if (period == 1) return std::fill(out, out + n, out[0]);
    for (size_t r = period; r < n; r += period) std::memcpy(out + r, out, period * sizeof(float));
    return;
  }
  if (nb == 1 || na == 1) {
    const bool scalarB = nb == 1;
    const float s = scalarB ? b[0] : a[0];
    const float* full = scalarB ? a : b;
    if (scalarB) {
#pragma omp parallel for simd if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
      for (int64_t i = 0; i < total; i++) out[i] = apply<OP>(full[i], s);
    } else {
#pragma omp parallel for simd if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
      for (int64_t i = 0; i < total; i++) out[i] = apply<OP>(s, full[i]);
    }
    return;
  }
  const int64_t period = static_cast<int64_t>(na == n ? nb : na);
  const int64_t rows = total / period;
  const bool periodicB = na == n;
#pragma omp parallel for if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float* o = out + r * period;
    if (periodicB) {
      const float* ar = a + r * period;
#pragma omp simd
      for (int64_t j = 0; j < period; j++) o[j] = apply<OP>(ar[j], b[j]);
    } else {
      const float* br = b + r * period;
#pragma omp simd
      for (int64_t j = 0; j < period; j++) o[j] = apply<OP>(a[j], br[j]);
    }
  }
}

// Calls f(std::integral_constant<int, OP>{}) for the Binary op code `op` (one switch for every
// binary kernel); false for an unknown code.
template <typename F>
bool withBinaryOp(int op, F f) {
  switch (op) {
    case ADD: f(std::integral_constant<int, ADD>{}); return true;
    case SUB: f(std::integral_constant<int, SUB>{}); return true;
    case MUL: f(std::integral_constant<int, MUL>{}); return true;
    case DIV: f(std::integral_constant<int, DIV>{}); return true;
    case SQUARED_DIFFERENCE: f(std::integral_constant<int, SQUARED_DIFFERENCE>{}); return true;
    case MAXIMUM: f(std::integral_constant<int, MAXIMUM>{}); return true;
    case MINIMUM: f(std::integral_constant<int, MINIMUM>{}); return true;
    case RELU_GRAD: f(std::integral_constant<int, RELU_GRAD>{}); return true;
    case SQUARE_GRAD: f(std::integral_constant<int, SQUARE_GRAD>{}); return true;
    case ADD_RELU: f(std::integral_constant<int, ADD_RELU>{}); return true;
    default: return false;
  }
}

// binary(op, a, b, out): see above. Each of a, b has the output's length or divides it; when
// neither has the output's length, one of them is a scalar.
Napi::Value binaryOp(const Napi::CallbackInfo& info) {
  const int64_t op = integerArg(info, 0, "op");
  size_t na, nb, n;
  const float* a = floatData(info[1], &na);
  const float* b = floatData(info[2], &nb);
  float* out = floatData(info[3], &n);
  check(op >= 0 && op <= ADD_RELU, "unknown op");
  if (n == 0) return info.Env().Undefined();
  check(!((na != n && (na == 0 || n % na)) || (nb != n && (nb == 0 || n % nb)) || (na != n && nb != n && na != 1 && nb != 1)),
        "operand lengths do not broadcast");
  withBinaryOp(static_cast<int>(op), [&](auto code) { binary<decltype(code)::value>(a, na, b, nb, out, n); });
  return info.Env().Undefined();
}

// addReluGrad(a, b, y, out): out = (a + b) * step(y), RELU_GRAD of a sum, in one pass (an
// accumulated gradient that only the ReLU gradient reads, deferred.ts); same values as the Add
// and then the RELU_GRAD.
Napi::Value addReluGradOp(const Napi::CallbackInfo& info) {
  size_t na, nb, ny, n;
  const float* a = floatData(info[0], &na);
  const float* b = floatData(info[1], &nb);
  const float* y = floatData(info[2], &ny);
  float* out = floatData(info[3], &n);
  check(na == n && nb == n && ny == n, "lengths differ");
  const int64_t total = static_cast<int64_t>(n);
#pragma omp parallel for simd if (total > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t i = 0; i < total; i++) out[i] = apply<RELU_GRAD>(a[i] + b[i], y[i]);
  return info.Env().Undefined();
}

// out[r * repeat + j] = full[r * repeat + j] OP rowValue[r] (or rowValue[r] OP full[...] when the
// row values are the left operand): an operand of shape [..., 1] against [..., N].
template <int OP>
void binaryRows(const float* full, const float* rowValues, bool rowsLeft, float* out, int64_t n, int64_t repeat) {
  const int64_t rows = n / repeat;
#pragma omp parallel for if (n > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float v = rowValues[r];
    const float* f = full + r * repeat;
    float* o = out + r * repeat;
    if (rowsLeft) {
#pragma omp simd
      for (int64_t j = 0; j < repeat; j++) o[j] = apply<OP>(v, f[j]);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < repeat; j++) o[j] = apply<OP>(f[j], v);
    }
  }
}

// binaryRows(op, a, b, out, repeat): one of a, b has the output's length, the other one value per
// row of `repeat` outputs.
Napi::Value binaryRowsOp(const Napi::CallbackInfo& info) {
  const int64_t op = integerArg(info, 0, "op");
  size_t na, nb, n;
  const float* a = floatData(info[1], &na);
  const float* b = floatData(info[2], &nb);
  float* out = floatData(info[3], &n);
  const int64_t repeat = integerArg(info, 4, "repeat");
  check(op >= 0 && op <= ADD_RELU, "unknown op");
  const bool rowsLeft = na != n;
  const size_t rowCount = rowsLeft ? na : nb;
  check(!(repeat <= 0 || n % static_cast<size_t>(repeat) || (na != n && nb != n) ||
          rowCount != n / static_cast<size_t>(repeat)),
        "operand lengths do not match");
  const float* full = rowsLeft ? b : a;
  const float* rowValues = rowsLeft ? a : b;
  const int64_t total = static_cast<int64_t>(n);
  withBinaryOp(static_cast<int>(op), [&](auto code) {
    binaryRows<decltype(code)::value>(full, rowValues, rowsLeft, out, total, repeat);
  });
  return info.Env().Undefined();
}

// softmax(logits, out, rowLength): per row, exp(x - max) / sum, the cpu backend's steps (the sum in
// double).
Napi::Value softmaxOp(const Napi::CallbackInfo& info) {
  size_t nx, n;
  const float* x = floatData(info[0], &nx);
  float* out = floatData(info[1], &n);
  const int64_t length = integerArg(info, 2, "rowLength");
  check(nx == n && length > 0 && n % static_cast<size_t>(length) == 0, "bad lengths");
  const int64_t rows = static_cast<int64_t>(n) / length;
#pragma omp parallel for if (static_cast<int64_t>(n) > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * length;
    float* o = out + r * length;
    float max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < length; j++) max = xr[j] > max ? xr[j] : max;
    double sum = 0;
    for (int64_t j = 0; j < length; j++) {
      o[j] = std::exp(xr[j] - max);
      sum += o[j];
    }
    const float total = static_cast<float>(sum);
    for (int64_t j = 0; j < length; j++) o[j] /= total;
  }
  return info.Env().Undefined();
}

template <int OP>
inline float applyUnary(float x, float alpha) {
  if constexpr (OP == RELU) return x < 0 ? 0 : x;  // NaN passes through, as in the cpu backend
  if constexpr (OP == SQRT) return std::sqrt(x);
  if constexpr (OP == RSQRT) return 1.0f / std::sqrt(x);
  if constexpr (OP == SQUARE) return x * x;
  if constexpr (OP == NEG) return -x;
  if constexpr (OP == EXP) return std::exp(x);
  if constexpr (OP == LOG) return std::log(x);
  if constexpr (OP == ABS) return std::fabs(x);
  if constexpr (OP == STEP) {
    float step = x > 0 ? 1.0f : alpha;
    return x != x ? x : step;
  }
  if constexpr (OP == RECIPROCAL) return 1.0f / x;
  if constexpr (OP == RELU6) return x < 0 ? 0 : (x > 6 ? 6 : x);
  if constexpr (OP == SIGMOID) return 1.0f / (1.0f + std::exp(-x));
  return 0;
}

template <int OP>
void unary(const float* x, float* out, int64_t n, float alpha) {
#pragma omp parallel for simd if (n > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = applyUnary<OP>(x[i], alpha);
}

// unary(op, x, out, alpha): out = op(x); alpha is Step's value for x <= 0.
Napi::Value unaryOp(const Napi::CallbackInfo& info) {
  const int64_t op = integerArg(info, 0, "op");
  size_t nx, n;
  const float* x = floatData(info[1], &nx);
  float* out = floatData(info[2], &n);
  const float alpha = static_cast<float>(numberArg(info, 3, "alpha"));
  check(nx == n, "lengths differ");
  const int64_t len = static_cast<int64_t>(n);
  switch (op) {
    case RELU: unary<RELU>(x, out, len, alpha); break;
    case SQRT: unary<SQRT>(x, out, len, alpha); break;
    case RSQRT: unary<RSQRT>(x, out, len, alpha); break;
    case SQUARE: unary<SQUARE>(x, out, len, alpha); break;
    case NEG: unary<NEG>(x, out, len, alpha); break;
    case EXP: unary<EXP>(x, out, len, alpha); break;
    case LOG: unary<LOG>(x, out, len, alpha); break;
    case ABS: unary<ABS>(x, out, len, alpha); break;
    case STEP: unary<STEP>(x, out, len, alpha); break;
    case RECIPROCAL: unary<RECIPROCAL>(x, out, len, alpha); break;
    case RELU6: unary<RELU6>(x, out, len, alpha); break;
    case SIGMOID: unary<SIGMOID>(x, out, len, alpha); break;
    default: throw RangeError("unknown op");
  }
  return info.Env().Undefined();
}

void tileDim(const float* in, float* out, const int32_t* shape, const int32_t* reps, int rank, int dim,
             const std::vector<int64_t>& inStride, const std::vector<int64_t>& outStride) {
  const int64_t rowLength = shape[rank - 1];
  if (dim == rank - 1) {
    for (int r = 0; r < reps[dim]; r++) std::memcpy(out + r * rowLength, in, rowLength * sizeof(float));
    return;
  }
  for (int r = 0; r < reps[dim]; r++) {
    for (int i = 0; i < shape[dim]; i++) {
      tileDim(in + i * inStride[dim], out + (r * shape[dim] + i) * outStride[dim], shape, reps, rank, dim + 1,
              inStride, outStride);
    }
  }
}

// tile(x, out, shape, reps): out = x repeated reps[d] times along each dimension d.
Napi::Value tileOp(const Napi::CallbackInfo& info) {
  size_t nx, n, rank, nreps;
  const float* x = floatData(info[0], &nx);
  float* out = floatData(info[1], &n);
  const int32_t* shape = intData(info[2], &rank);
  const int32_t* reps = intData(info[3], &nreps);
  check(rank > 0 && rank == nreps && rank <= 64, "bad rank");
  std::vector<int64_t> inStride(rank), outStride(rank);
  int64_t in = 1, outSize = 1;
  for (int d = static_cast<int>(rank) - 1; d >= 0; d--) {
    inStride[d] = in;
    outStride[d] = outSize;
    in = checkedProduct({in, shape[d]}, "tile input");
    outSize = checkedProduct({outSize, shape[d], reps[d]}, "tile output");
  }
  check(static_cast<size_t>(in) == nx && static_cast<size_t>(outSize) == n, "lengths do not match the shape");
  if (n > 0) tileDim(x, out, shape, reps, static_cast<int>(rank), 0, inStride, outStride);
  return info.Env().Undefined();
}

// copyBlock(outer, outerShape, block, blockShape, begin, intoOuter): the block of shape blockShape
// lying at offsets `begin` inside an array of shape outerShape, copied from `block` into `outer`
// (intoOuter: PadV2, after the caller filled the padding) or from `outer` into `block` (Slice, PadV2's
// gradient), row by row. Trailing dimensions the block spans whole are contiguous in both arrays and
// merge into the rows; the rest of the index arithmetic is per row. (In JavaScript this cost ResNet-20
// 12 ms a step: its channel-padding shortcuts copy rows of 16 values.)
Napi::Value copyBlockOp(const Napi::CallbackInfo& info) {
  size_t nOuter, nBlock, rank, rankBlock, rankBegin;
  float* outer = floatData(info[0], &nOuter);
  const int32_t* outerShape = intData(info[1], &rank);
  float* block = floatData(info[2], &nBlock);
  const int32_t* blockShape = intData(info[3], &rankBlock);
  const int32_t* begin = intData(info[4], &rankBegin);
  if (info.Length() < 6 || !info[5].IsBoolean()) throw TypeError("intoOuter must be a boolean");
  const bool intoOuter = info[5].As<Napi::Boolean>().Value();
  check(rank > 0 && rank <= 64 && rankBlock == rank && rankBegin == rank, "shapes and begin must have one rank (1 to 64)");
  int64_t outerSize = 1, blockSize = 1;
  for (size_t d = 0; d < rank; d++) {
    check(blockShape[d] >= 0 && begin[d] >= 0 && int64_t{begin[d]} + blockShape[d] <= outerShape[d],
          "the block must lie inside the outer array");
    outerSize = checkedProduct({outerSize, outerShape[d]}, "outer array");
    blockSize = checkedProduct({blockSize, blockShape[d]}, "block");
  }
  check(static_cast<size_t>(outerSize) == nOuter && static_cast<size_t>(blockSize) == nBlock, "lengths do not match the shapes");
  if (blockSize == 0) return info.Env().Undefined();
  int last = static_cast<int>(rank) - 1;  // the innermost dimension the block does not span whole
  while (last > 0 && blockShape[last] == outerShape[last]) last--;
  int64_t inner = 1;
  for (size_t d = last + 1; d < rank; d++) inner *= blockShape[d];
  const int64_t rowLength = blockShape[last] * inner, rows = blockSize / rowLength;
  std::vector<int64_t> outerStride(rank + 1, 1);
  for (int d = static_cast<int>(rank) - 1; d >= 0; d--) outerStride[d] = outerStride[d + 1] * outerShape[d];
#pragma omp parallel for if (blockSize > kParallelMin) num_threads(loopThreads()) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t offset = begin[last] * inner, rest = r;
    for (int d = last - 1; d >= 0; d--) {
      offset += (rest % blockShape[d] + begin[d]) * outerStride[d + 1];
      rest /= blockShape[d];
    }
    float* o = outer + offset;
    float* b = block + r * rowLength;
    if (intoOuter) std::memcpy(o, b, rowLength * sizeof(float));
    else std::memcpy(b, o, rowLength * sizeof(float));
  }
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exportFunction<binaryOp>(env, exports, "binary");
  exportFunction<addReluGradOp>(env, exports, "addReluGrad");
  exportFunction<unaryOp>(env, exports, "unary");
  exportFunction<tileOp>(env, exports, "tile");
  exportFunction<copyBlockOp>(env, exports, "copyBlock");
  exportFunction<binaryRowsOp>(env, exports, "binaryRows");
  exportFunction<softmaxOp>(env, exports, "softmax");
}

}  // namespace tfn
