// Entry point of the addon: each kernel family registers its own functions.
//
// The addon's state (primitive caches, scratch buffers, filter copies, precision, thread counts) is
// process-wide and unsynchronised: one JS thread may use it. So the addon loads in one JS
// environment at a time (the main thread or one worker_threads Worker); loading it in a second
// while the first is alive throws. When that environment shuts down, the state it named (filter
// copies keyed by its tensors, precision, algorithm) is forgotten and another may load it.
#include "common.h"
#include <atomic>

namespace {

std::atomic<napi_env> owner{nullptr};

void release(void* env) {
  tfn::resetConv();
  tfn::resetConvGemm();
  tfn::resetInfer();
  napi_env expected = static_cast<napi_env>(env);
  owner.compare_exchange_strong(expected, nullptr);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  napi_env expected = nullptr;
  if (!owner.compare_exchange_strong(expected, env) && expected != env) {
    throw Napi::Error::New(env,
                           "tfjs_native is in use by another thread of this process: its caches and scratch buffers are "
                           "process-wide, so one JS thread at a time may load it");
  }
  if (expected == nullptr) napi_add_env_cleanup_hook(env, release, env);
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

}  // namespace

NODE_API_MODULE(tfjs_native, init)
