// dynlab_env.node: sets a process-wide environment variable unless it is already set, for the
// BLAS defaults of src/blas-defaults.ts.
//
// Why a separate addon: OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded, which is when
// dynlab_native.node (linked against it) is loaded; so the variable must be set by code that does
// not link the BLAS. And it must be set natively: in a worker thread process.env is a copy that
// getenv() never sees. Like any setenv() in a threaded program it could race a getenv() in another
// thread; the loader calls it once per process, on the first load, before the BLAS exists.
#include <napi.h>

#include <cstdlib>
#include <string>

namespace {

// setDefault(name, value): sets `name` to `value` when it is unset; returns the value in effect.
Napi::Value SetDefault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "setDefault(name, value): expected two strings");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const std::string value = info[1].As<Napi::String>().Utf8Value();
  if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos ||
      value.find('\0') != std::string::npos)
    throw Napi::TypeError::New(env, "setDefault: invalid variable name or value");
  if (const char* current = std::getenv(name.c_str())) return Napi::String::New(env, current);
  if (setenv(name.c_str(), value.c_str(), 0) != 0) throw Napi::Error::New(env, "setDefault: setenv failed");
  const char* now = std::getenv(name.c_str());
  return Napi::String::New(env, now ? now : "");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setDefault", Napi::Function::New(env, SetDefault));
  return exports;
}

}  // namespace

NODE_API_MODULE(dynlab_env, Init)
