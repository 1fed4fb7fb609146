// The fused elementwise passes of a training step, one function per pass.
//
// Why they are separate from population.cc: these loops are where the non-GEMM time goes, so they
// are written for the vectorizer (unit stride, `omp simd` reductions, no branches: a ReLU mask is a
// multiplication by 0 or 1, since a conditional the compiler turned into a branch made one build
// 2.4x slower) and compiled in three versions (x86-64-v4 with AVX-512, x86-64-v3 with AVX2 and FMA,
// and baseline) picked at load time,
// so one build runs on any x86-64 machine.
#pragma once

#include <cstdint>

namespace dynlab {

enum class LossKind : int;

// z[h, :] += bias[h] (bias may be null), then ReLU when `relu`. Rows h of length n, stride n.
// When `dead` is given, dead[h] += 1 when every z[h, :] <= 0 after the bias.
void activate(float* z, int rows, int n, const float* bias, bool relu, int32_t* dead);

// The last hidden layer: activate(z) as above and f[:] = bout + sum_h wout[h] * a[h, :].
void activateAndOutput(float* z, int rows, int n, const float* bias, bool relu, const float* wout, float bout, float* f,
                       int32_t* dead);

// Per-sample loss terms and dJ/df for one network: J = R(loss(y f)) + sd * R(f^2), R = scale * sum.
// Writes g[i] = dJ/df_i; returns the data loss R(loss) (no regularizer) in *loss and the number of
// samples with y f <= 0 in *errors. Computed in double where it is summed.
void lossAndGradient(LossKind kind, const float* f, const float* y, int n, float margin, float scale, float sd, float* g,
                     double* loss, double* errors);

// The loss of one network: its kind and the trial's coefficients; scale is 1/rows for the mean, 1 for the sum.
struct LossTerms {
  LossKind kind;
  float margin, scale, spectral;
};

// The last hidden layer, the output, the loss and (when dw is given) the backward pass into the
// last hidden layer, fused over blocks of samples so that each block of activations is made and
// used while it is in L1, instead of three passes over the whole [rows, n] matrix:
//   z[h, :] += bias[h]; a = act(z); f = bout + sum_h wout[h] a[h, :]; g = dJ/df (lossAndGradient);
//   dw[h] = sum_i a[h, i] g[i]; z[h, :] becomes dZ = mask(a) * wout[h] * g; db[h] = sum_i dZ[h, i].
// `dead` and `top` (rows floats of scratch) as in activate(); loss and errors summed over the blocks.
void lastLayer(float* z, int rows, int n, const float* bias, bool relu, const float* wout, float bout, const float* y,
               const LossTerms& terms, float* f, float* g, float* dw, float* db, int32_t* dead, float* top, double* loss,
               double* errors);

// Backward through a hidden activation: a[h, :] = da[h, :] * mask(a[h, :]); db[h] = row sum (when given).
void activationBackward(float* a, const float* da, int rows, int n, bool relu, float* db);

// Per-feature gradient share of a [rows, cols] weight gradient: share[j] = sum_h g[h,j]^2 / total,
// all zeros when the total is zero or NaN.
void gradientShare(const float* g, int rows, int cols, float* share);

// Sum of squares of n values, in double.
double sumSquares(const float* v, int n);

// Sum of n values, in double.
double sum(const float* v, int n);

// dst[i] += src[i] for n values (a lane's gradient summed into the population's).
void addInto(float* dst, const float* src, int n);

// Optimizer updates over n parameters with gradient g (weight decay wd added here). Each returns a
// value that is finite exactly when every updated parameter is finite.
float updateGd(float* w, const float* g, int n, float lr, float wd);
float updateMomentum(float* w, const float* g, float* m, int n, float lr, float wd, float mu);
// Adam's coefficients for one step, each formed in double: beta1, 1 - beta1, beta2, 1 - beta2,
// epsilon, and the bias corrections 1 / (1 - beta1^t), 1 / (1 - beta2^t).
struct AdamCoefficients {
  float b1, oneMinusB1, b2, oneMinusB2, eps, correction1, correction2;
};
float updateAdam(float* w, const float* g, float* m, float* v, int n, float lr, float wd, const AdamCoefficients& a);

}  // namespace dynlab
