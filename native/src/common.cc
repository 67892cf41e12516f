#include "common.h"
#include <omp.h>
#include <cmath>
#include <new>

namespace tfn {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

Napi::Value callGuarded(Entry entry, const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  // The export's name (exportFunction passes it as the function's data), for messages only.
  const auto named = [&](const std::string& message) {
    return std::string(info.Data() ? static_cast<const char*>(info.Data()) : "tfjs_native") + ": " + message;
  };
  try {
    return entry(info);
  } catch (const Napi::Error&) {
    throw;  // already a JS exception (node-addon-api throws it into JS)
  } catch (const RangeError& e) {
    throw Napi::RangeError::New(env, named(e.what()));
  } catch (const TypeError& e) {
    throw Napi::TypeError::New(env, named(e.what()));
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(env, named(std::string("oneDNN: ") + e.what()));
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, named("out of memory (a C++ allocation failed)"));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, named(e.what()));
  } catch (...) {
    throw Napi::Error::New(env, named("unknown C++ exception"));
  }
}

float* floatData(const Napi::Value& value, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw TypeError("expected a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  if (length) *length = array.ElementLength();
  return array.Data();
}

float* floatArray(const Napi::Value& value, int64_t expected, const char* what) {
  size_t length = 0;
  float* data = floatData(value, &length);
  if (expected < 0 || length != static_cast<size_t>(expected)) {
    throw RangeError(std::string(what) + " has " + std::to_string(length) + " elements, the shape says " + std::to_string(expected));
  }
  return data;
}

const int32_t* intData(const Napi::Value& value, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw TypeError("expected an Int32Array");
  }
  auto array = value.As<Napi::Int32Array>();
  if (length) *length = array.ElementLength();
  return array.Data();
}

double numberArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsNumber()) throw TypeError(std::string(what) + ": expected a number");
  const double v = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) throw TypeError(std::string(what) + ": expected a finite number");
  return v;
}

int64_t integerArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  const double v = numberArg(info, index, what);
  if (v != std::floor(v) || std::fabs(v) > 9007199254740992.0) throw TypeError(std::string(what) + ": expected an integer");
  return static_cast<int64_t>(v);
}

std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsString()) throw TypeError(std::string(what) + ": expected a string");
  return info[index].As<Napi::String>().Utf8Value();
}

bool isAbsent(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() <= index || info[index].IsUndefined() || info[index].IsNull();
}

int64_t checkedProduct(std::initializer_list<int64_t> factors, const char* what) {
  constexpr int64_t kLimit = int64_t{1} << 53;
  for (const int64_t f : factors) {
    if (f < 0) throw RangeError(std::string(what) + ": negative size");
  }
  int64_t product = 1;
  for (const int64_t f : factors) {
    if (f == 0) return 0;
    if (product > kLimit / f) throw RangeError(std::string(what) + ": size too large");
    product *= f;
  }
  return product;
}

static int loopThreadCount = 1;

int loopThreads() { return loopThreadCount; }

// setThreads(oneDnnThreads, loopThreads): OpenMP threads for oneDNN's primitives and for the
// addon's element-wise loops, each 1..kMaxThreads (0 leaves a setting as it is); returns both.
static Napi::Value setThreads(const Napi::CallbackInfo& info) {
  const int64_t primitives = integerArg(info, 0, "oneDNN threads");
  const int64_t loops = integerArg(info, 1, "loop threads");
  check(primitives >= 0 && primitives <= kMaxThreads && loops >= 0 && loops <= kMaxThreads,
        "thread counts must be 0 (unchanged) to " + std::to_string(kMaxThreads));
  if (primitives > 0) omp_set_num_threads(static_cast<int>(primitives));
  if (loops > 0) loopThreadCount = static_cast<int>(loops);
  Napi::Object now = Napi::Object::New(info.Env());
  now.Set("onednn", omp_get_max_threads());
  now.Set("loops", loopThreadCount);
  return now;
}

void registerCommon(Napi::Env env, Napi::Object exports) {
  exportFunction<setThreads>(env, exports, "setThreads");
}

}  // namespace tfn
