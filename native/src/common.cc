#include "common.h"

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

}  // namespace tfn
