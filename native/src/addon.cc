// Entry point of the addon: each kernel family registers its own functions.
#include "common.h"

namespace tfn { void registerInfer(Napi::Env env, Napi::Object exports); }  // infer.cc: inference plans

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  tfn::registerCommon(env, exports);
  tfn::registerConv(env, exports);
  tfn::registerConvGemm(env, exports);
  tfn::registerPool(env, exports);
  tfn::registerElementwise(env, exports);
  tfn::registerReduce(env, exports);
  tfn::registerOptimizer(env, exports);
  tfn::registerNormalization(env, exports);
  tfn::registerMatMul(env, exports);
  tfn::registerInfer(env, exports);
  exports.Set("onednnVersion", Napi::String::New(env, [] {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }()));
  return exports;
}

NODE_API_MODULE(tfjs_native, init)
