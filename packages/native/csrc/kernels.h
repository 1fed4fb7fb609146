// The fused elementwise passes of a training step, one function per pass.
//
// Why they are separate from population.cc: these loops are where the non-GEMM time goes, so they
// are written for the vectorizer (unit stride, `omp simd` reductions, no branches: a ReLU mask is a
// multiplication by 0 or 1, since a conditional the compiler turned into a branch made one build
// 2.4x slower) and compiled in two versions (x86-64-v3 with FMA, and baseline) picked at load time,
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

// Backward through the output layer: for each row h of a (post-activation), dw[h] = sum_i a[h,i] g[i];
// then a[h, :] becomes dZ = mask(a) * wout[h] * g (mask = a > 0 for ReLU, 1 otherwise) and
// db[h] = sum_i dZ[h, i] when db is given.
void outputBackward(float* a, int rows, int n, const float* g, const float* wout, bool relu, float* dw, float* db);

// Backward through a hidden activation: a[h, :] = da[h, :] * mask(a[h, :]); db[h] = row sum (when given).
void activationBackward(float* a, const float* da, int rows, int n, bool relu, float* db);

// Per-feature gradient share of a [rows, cols] weight gradient: share[j] = sum_h g[h,j]^2 / total,
// all zeros when the total is zero or NaN.
void gradientShare(const float* g, int rows, int cols, float* share);

// Sum of squares of n values, in double.
double sumSquares(const float* v, int n);

// Sum of n values, in double.
double sum(const float* v, int n);

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
