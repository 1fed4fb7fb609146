// Times one SGEMM shape on this machine, for the benchmark's "what is left to the peak".
//
// Why in the addon: the BLAS the addon links is the one whose speed matters, with the thread
// setting the addon gave it; a separate tool could pick up another library.
#pragma once

namespace dynlab {

// Seconds per call of C[m,n] = A[m,k] * op(B) (row-major, B transposed when transB), best of
// `reps` calls after one warm-up.
double gemmSeconds(int m, int n, int k, bool transB, int reps);

}  // namespace dynlab
