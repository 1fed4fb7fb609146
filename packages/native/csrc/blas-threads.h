// Pins the BLAS to one thread without naming an implementation at link time.
//
// Why: each worker thread runs its own population with its own addon instance, so the BLAS must
// not start threads of its own (two workers x two BLAS threads oversubscribe two cores). The known
// thread setters (OpenBLAS, BLIS, MKL) are looked up with dlsym, so relinking against another
// CBLAS needs no code change; when none is found the environment variables read at library load
// (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS) are what remains.
#pragma once

#include <string>

namespace dynlab {

// Sets the BLAS thread count through the first setter found; returns its symbol name, or "" if none.
std::string setBlasThreads(int threads);

// A line naming the BLAS build when it reports one (e.g. OpenBLAS's configuration string), or "".
std::string blasConfig();

}  // namespace dynlab
