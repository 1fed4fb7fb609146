// SGEMM timing; see gemm-rate.h.
#include "gemm-rate.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace dynlab {

double gemmSeconds(int m, int n, int k, bool transB, int reps) {
  std::vector<float> a(static_cast<size_t>(m) * k, 0.5f), b(static_cast<size_t>(k) * n, 0.25f), c(static_cast<size_t>(m) * n);
  double best = 1e30;
  for (int r = 0; r <= reps; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(),
                transB ? k : n, 0.0f, c.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, s);
  }
  return best;
}

}  // namespace dynlab
