# The addon links the system CBLAS. DYNLAB_BLAS_LIBS picks another implementation by relinking
# (e.g. "-lmkl_rt" or "-lblis"); the default names OpenBLAS explicitly, because "-lblas" can resolve
# to the reference BLAS, which is about 20x slower. dynlab_env (no BLAS) sets the BLAS's environment
# defaults before dynlab_native loads it (see csrc/env.cc and src/blas-defaults.ts).
{
  "targets": [
    {
      "target_name": "dynlab_native",
      "sources": ["csrc/addon.cc", "csrc/population.cc", "csrc/kernels.cc", "csrc/minibatch.cc", "csrc/blas-threads.cc", "csrc/gemm-rate.cc", "csrc/team.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra"],
      "libraries": ["<!(node -p \"process.env.DYNLAB_BLAS_LIBS || '-lopenblas'\")", "-ldl"]
    },
    {
      "target_name": "dynlab_env",
      "sources": ["csrc/env.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
