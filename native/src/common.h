// Shared by every kernel family of the addon: the oneDNN engine and stream, the one way an entry
// point is exported (exportFunction: every C++ exception becomes a JS exception), and checked
// access to the arguments the TypeScript side passes (src/engine/native/addon.ts declares them).
//
// Adding an entry point: write `Napi::Value name(const Napi::CallbackInfo& info)`, read its
// arguments with the readers below (each throws a JS TypeError / RangeError naming the argument),
// check every array length against the shapes it is given before touching memory, register it
// with `exportFunction<name>(env, exports, "name")`, and declare it in addon.ts.
#pragma once
#include <napi.h>
#include <dnnl.hpp>
#include <cstdint>
#include <vector>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace tfn {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// Bad arguments. Plain C++ exceptions, so that code without a Napi::Env can throw them;
// exportFunction's wrapper turns them into a JS RangeError / TypeError.
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws RangeError(message) unless ok. (A literal message costs nothing when ok; build a composed
// one only after the test fails.)
inline void check(bool ok, const char* message) {
  if (!ok) throw RangeError(message);
}
inline void check(bool ok, const std::string& message) {
  if (!ok) throw RangeError(message);
}

using Entry = Napi::Value (*)(const Napi::CallbackInfo&);

// Runs an entry point and turns whatever it throws into a JS exception prefixed with its name:
// RangeError / TypeError for bad arguments, Error for oneDNN errors, failed allocations and any
// other C++ exception. Nothing reaches std::terminate (which would abort Node). Entry points must
// not let an exception escape an OpenMP parallel region (that terminates too): allocate before it.
Napi::Value callGuarded(Entry entry, const Napi::CallbackInfo& info);

template <Entry entry>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  return callGuarded(entry, info);
}

// The one way an entry point is exported: wrapped by callGuarded, named `name` (a string literal).
template <Entry entry>
void exportFunction(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<guarded<entry>>(env, name, const_cast<char*>(name)));
}

// Argument readers. Arrays are used in place (no copy).
// A Float32Array; TypeError otherwise. length (optional) receives its element count.
float* floatData(const Napi::Value& value, size_t* length = nullptr);
// A Float32Array of exactly `expected` elements; RangeError naming `what` otherwise.
float* floatArray(const Napi::Value& value, int64_t expected, const char* what);
// An Int32Array; TypeError otherwise.
const int32_t* intData(const Napi::Value& value, size_t* length = nullptr);
// Argument `index` as a number that is an integer; TypeError otherwise.
int64_t integerArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// Argument `index` as a finite number; TypeError otherwise.
double numberArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// Argument `index` as a string; TypeError otherwise.
std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// Whether argument `index` is absent, undefined or null.
bool isAbsent(const Napi::CallbackInfo& info, size_t index);

// The product of sizes, checked: RangeError naming `what` when a factor is negative or the product
// exceeds 2^53 (no JS array is longer), so that a product can never wrap around to match a length.
int64_t checkedProduct(std::initializer_list<int64_t> factors, const char* what);

// Each kernel family adds its functions to the addon's exports.
void registerCommon(Napi::Env env, Napi::Object exports);
void registerConv(Napi::Env env, Napi::Object exports);
void registerConvGemm(Napi::Env env, Napi::Object exports);
void registerPool(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerReduce(Napi::Env env, Napi::Object exports);
void registerOptimizer(Napi::Env env, Napi::Object exports);
void registerNormalization(Napi::Env env, Napi::Object exports);
void registerMatMul(Napi::Env env, Napi::Object exports);

// Forgets what one JS environment told the addon (filter copies named by its keys, precision,
// convolution algorithm): run when that environment shuts down (addon.cc).
void resetConv();
void resetConvGemm();
void resetInfer();
void registerInfer(Napi::Env env, Napi::Object exports);

// Threads for the addon's own (memory-bound) loops; oneDNN uses OpenMP's default (omp_set_num_threads).
int loopThreads();
// The most threads setThreads accepts (more would only exhaust the machine).
constexpr int kMaxThreads = 1024;

// Below this many elements (512 KiB of floats, ~50 us of one thread's memory traffic) a kernel
// runs on one thread: a parallel region costs a fork and a join, and on a 2-core machine its
// second thread may have to wait for a core that the JS engine's own threads hold.
constexpr int64_t kParallelMin = 1 << 17;

// Scratch for an OpenMP region: one slice of `count` values per thread, allocated before the region
// (an exception thrown inside one terminates the process), each slice starting on its own 64-byte
// cache line. Slices packed end to end would share a line at every boundary, and the threads' writes
// to it (per row, in the hot loops) would bounce that line between the cores: false sharing. Packed
// slices made moments and the batch-norm gradient at 64 channels about 2x slower (docs/benchmarks.md,
// "native engine boundary").
template <typename T>
class PerThread {
 public:
  PerThread(int threads, size_t count, T value = T{})
      : threads_(threads), stride_((count * sizeof(T) + kLine - 1) / kLine * kLine / sizeof(T)),
        storage_(static_cast<size_t>(threads) * stride_ + kLine / sizeof(T), value) {}
  // Thread t's slice.
  T* operator[](int t) { return first() + static_cast<size_t>(t) * stride_; }
  // The sum over the threads of element `index` of their slices, added in thread order (so that it
  // does not depend on which thread finished first).
  T total(size_t index) {
    T sum{};
    for (int t = 0; t < threads_; t++) sum += (*this)[t][index];
    return sum;
  }

 private:
  static constexpr size_t kLine = 64;
  static_assert(kLine % sizeof(T) == 0, "a cache line holds whole values");
  T* first() {
    const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    return reinterpret_cast<T*>((address + kLine - 1) / kLine * kLine);
  }
  int threads_;
  size_t stride_;
  std::vector<T> storage_;
};

}  // namespace tfn
