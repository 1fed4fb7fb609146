// Run-time lookup of BLAS thread setters; see blas-threads.h.
#include "blas-threads.h"

#include <dlfcn.h>

#include <cstdint>

namespace dynlab {

namespace {
// Node loads addons without RTLD_GLOBAL, so the BLAS's symbols are not in the global scope; a
// handle to this very library searches it and its dependencies (the BLAS among them).
void* find(const char* name) {
  static void* self = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&setBlasThreads), &info) && info.dli_fname)
      return dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    return static_cast<void*>(nullptr);
  }();
  if (self)
    if (void* f = dlsym(self, name)) return f;
  return dlsym(RTLD_DEFAULT, name);
}
}  // namespace

std::string setBlasThreads(int threads) {
  using IntSetter = void (*)(int);
  using LongSetter = void (*)(int64_t);
  for (const char* name : {"openblas_set_num_threads", "MKL_Set_Num_Threads", "mkl_set_num_threads"}) {
    if (void* f = find(name)) {
      reinterpret_cast<IntSetter>(f)(threads);
      return name;
    }
  }
  if (void* f = find("bli_thread_set_num_threads")) {
    reinterpret_cast<LongSetter>(f)(threads);
    return "bli_thread_set_num_threads";
  }
  return "";
}

std::string blasConfig() {
  using Getter = const char* (*)();
  if (void* f = find("openblas_get_config")) {
    const char* s = reinterpret_cast<Getter>(f)();
    std::string line = s ? s : "";
    if (void* core = find("openblas_get_corename")) {
      const char* c = reinterpret_cast<Getter>(core)();
      if (c) line += std::string(" (core ") + c + ")";
    }
    return line;
  }
  return "";
}

}  // namespace dynlab
