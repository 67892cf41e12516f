#include "common.h"
#include <omp.h>

namespace tfn {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

float* floatData(const Napi::Value& value, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(value.Env(), "expected a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  if (length) *length = array.ElementLength();
  return array.Data();
}

const int32_t* intData(const Napi::Value& value, size_t* length) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(value.Env(), "expected an Int32Array");
  }
  auto array = value.As<Napi::Int32Array>();
  if (length) *length = array.ElementLength();
  return array.Data();
}

static int loopThreadCount = 1;

int loopThreads() { return loopThreadCount; }

// setThreads(oneDnnThreads, loopThreads): OpenMP threads for oneDNN's primitives and for the
// addon's element-wise loops (0 leaves a setting as it is).
static Napi::Value setThreads(const Napi::CallbackInfo& info) {
  const int primitives = info[0].As<Napi::Number>().Int32Value();
  const int loops = info[1].As<Napi::Number>().Int32Value();
  if (primitives > 0) omp_set_num_threads(primitives);
  if (loops > 0) loopThreadCount = loops;
  Napi::Object now = Napi::Object::New(info.Env());
  now.Set("onednn", omp_get_max_threads());
  now.Set("loops", loopThreadCount);
  return now;
}

void registerCommon(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, setThreads, "setThreads"));
}

}  // namespace tfn
