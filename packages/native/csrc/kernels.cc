// Fused elementwise passes; see kernels.h for why they look the way they do.
#include "kernels.h"

#include <cmath>

#include "population.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DYNLAB_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DYNLAB_HOT
#endif

namespace dynlab {

namespace {
inline float mask(float a, bool relu) { return relu ? static_cast<float>(a > 0.0f) : 1.0f; }
}  // namespace

DYNLAB_HOT void activate(float* z, int rows, int n, const float* bias, bool relu, int32_t* dead) {
  for (int h = 0; h < rows; h++) {
    float* r = z + static_cast<long>(h) * n;
    const float b = bias ? bias[h] : 0.0f;
    float top = 0.0f;
    if (relu) {
#pragma omp simd reduction(max : top)
      for (int i = 0; i < n; i++) {
        const float v = r[i] + b;
        r[i] = v > 0.0f ? v : 0.0f;
        top = top > v ? top : v;
      }
    } else if (bias) {
#pragma omp simd
      for (int i = 0; i < n; i++) r[i] += b;
    }
    if (dead && relu && !(top > 0.0f)) dead[h] += 1;
  }
}

DYNLAB_HOT void activateAndOutput(float* z, int rows, int n, const float* bias, bool relu, const float* wout, float bout,
                                  float* f, int32_t* dead) {
#pragma omp simd
  for (int i = 0; i < n; i++) f[i] = bout;
  for (int h = 0; h < rows; h++) {
    float* r = z + static_cast<long>(h) * n;
    const float b = bias ? bias[h] : 0.0f;
    const float w = wout[h];
    float top = 0.0f;
    if (relu) {
#pragma omp simd reduction(max : top)
      for (int i = 0; i < n; i++) {
        const float v = r[i] + b;
        const float a = v > 0.0f ? v : 0.0f;
        r[i] = a;
        f[i] += w * a;
        top = top > v ? top : v;
      }
    } else {
#pragma omp simd
      for (int i = 0; i < n; i++) {
        const float a = r[i] + b;
        r[i] = a;
        f[i] += w * a;
      }
    }
    if (dead && relu && !(top > 0.0f)) dead[h] += 1;
  }
}

void lossAndGradient(LossKind kind, const float* f, const float* y, int n, float margin, float scale, float sd, float* g,
                     double* loss, double* errors) {
  double total = 0.0, wrong = 0.0;
  const float sd2 = 2.0f * sd;
  for (int i = 0; i < n; i++) {
    const float fi = f[i], yi = y[i];
    const float m = yi * fi;
    wrong += m <= 0.0f ? 1.0 : 0.0;
    float d;  // d loss / d f
    switch (kind) {
      case LossKind::Logistic: {
        // log(1 + exp(-m)) without overflow; its derivative in f is -y * sigmoid(-m).
        const double md = m;
        const double e = std::exp(-std::fabs(md));
        total += (md < 0.0 ? -md : 0.0) + std::log1p(e);
        const double s = md >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
        d = static_cast<float>(-yi * s);
        break;
      }
      case LossKind::Hinge: {
        const float slack = margin - m;
        total += slack > 0.0f ? slack : 0.0f;
        d = slack > 0.0f ? -yi : 0.0f;
        break;
      }
      default: {
        const float r = fi - yi;
        total += 0.5 * static_cast<double>(r) * r;
        d = r;
        break;
      }
    }
    g[i] = scale * (d + sd2 * fi);
  }
  *loss = total * scale;
  *errors = wrong;
}

DYNLAB_HOT void outputBackward(float* a, int rows, int n, const float* g, const float* wout, bool relu, float* dw,
                               float* db) {
  for (int h = 0; h < rows; h++) {
    float* r = a + static_cast<long>(h) * n;
    const float w = wout[h];
    float dot = 0.0f, s = 0.0f;
    if (relu) {
#pragma omp simd reduction(+ : dot, s)
      for (int i = 0; i < n; i++) {
        const float v = r[i];
        dot += v * g[i];
        const float dz = static_cast<float>(v > 0.0f) * w * g[i];
        r[i] = dz;
        s += dz;
      }
    } else {
#pragma omp simd reduction(+ : dot, s)
      for (int i = 0; i < n; i++) {
        dot += r[i] * g[i];
        const float dz = w * g[i];
        r[i] = dz;
        s += dz;
      }
    }
    dw[h] = dot;
    if (db) db[h] = s;
  }
}

DYNLAB_HOT void activationBackward(float* a, const float* da, int rows, int n, bool relu, float* db) {
  for (int h = 0; h < rows; h++) {
    float* r = a + static_cast<long>(h) * n;
    const float* d = da + static_cast<long>(h) * n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) {
      const float dz = d[i] * mask(r[i], relu);
      r[i] = dz;
      s += dz;
    }
    if (db) db[h] = s;
  }
}

void gradientShare(const float* g, int rows, int cols, float* share) {
  double total = 0.0;
  for (int j = 0; j < cols; j++) share[j] = 0.0f;
  // Column sums of squares, accumulated row by row for unit stride; rows are few (H).
  for (int h = 0; h < rows; h++) {
    const float* r = g + static_cast<long>(h) * cols;
#pragma omp simd
    for (int j = 0; j < cols; j++) share[j] += r[j] * r[j];
  }
  for (int j = 0; j < cols; j++) total += share[j];
  if (!(total > 0.0)) {  // zero, or NaN in a diverged trial: all zeros, as the engine's tfjs program gives
    for (int j = 0; j < cols; j++) share[j] = 0.0f;
    return;
  }
  for (int j = 0; j < cols; j++) share[j] = static_cast<float>(share[j] / total);
}

DYNLAB_HOT double sumSquares(const float* v, int n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += static_cast<double>(v[i]) * v[i];
  return s;
}

DYNLAB_HOT double sum(const float* v, int n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}

DYNLAB_HOT float updateGd(float* w, const float* g, int n, float lr, float wd) {
  float check = 0.0f;
#pragma omp simd reduction(+ : check)
  for (int i = 0; i < n; i++) {
    const float v = w[i] - lr * (g[i] + wd * w[i]);
    w[i] = v;
    check += v * 0.0f;
  }
  return check;
}

DYNLAB_HOT float updateMomentum(float* w, const float* g, float* m, int n, float lr, float wd, float mu) {
  float check = 0.0f;
#pragma omp simd reduction(+ : check)
  for (int i = 0; i < n; i++) {
    const float mi = mu * m[i] + (g[i] + wd * w[i]);
    m[i] = mi;
    const float v = w[i] - lr * mi;
    w[i] = v;
    check += v * 0.0f;
  }
  return check;
}

DYNLAB_HOT float updateAdam(float* w, const float* g, float* m, float* v, int n, float lr, float wd,
                            const AdamCoefficients& a) {
  float check = 0.0f;
  const float b1 = a.b1, b2 = a.b2, o1 = a.oneMinusB1, o2 = a.oneMinusB2, eps = a.eps, c1 = a.correction1, c2 = a.correction2;
#pragma omp simd reduction(+ : check)
  for (int i = 0; i < n; i++) {
    const float gi = g[i] + wd * w[i];
    const float mi = b1 * m[i] + o1 * gi;
    const float vi = b2 * v[i] + o2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float u = w[i] - lr * (mi * c1) / (std::sqrt(vi * c2) + eps);
    w[i] = u;
    check += u * 0.0f;
  }
  return check;
}

}  // namespace dynlab
