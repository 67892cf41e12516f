// Shared helpers of the addon: the oneDNN engine and stream, and zero-copy access to the
// Float32Array / Int32Array arguments that the TypeScript side passes in.
#pragma once
#include <napi.h>
#include <dnnl.hpp>
#include <cstdint>

namespace tfn {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// The data of a Float32Array argument (no copy); throws a JS TypeError otherwise.
float* floatData(const Napi::Value& value, size_t* length = nullptr);
// The data of an Int32Array argument (no copy); throws a JS TypeError otherwise.
const int32_t* intData(const Napi::Value& value, size_t* length = nullptr);

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

// Threads for the addon's own (memory-bound) loops; oneDNN uses OpenMP's default (omp_set_num_threads).
int loopThreads();

// Below this many elements (512 KiB of floats, ~50 us of one thread's memory traffic) a kernel
// runs on one thread: a parallel region costs a fork and a join, and on a 2-core machine its
// second thread may have to wait for a core that the JS engine's own threads hold.
constexpr int64_t kParallelMin = 1 << 17;

}  // namespace tfn
