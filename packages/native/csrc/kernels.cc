// Fused elementwise passes; see kernels.h for why they look the way they do.
#include "kernels.h"

#include <cmath>
#include <cstring>

#include "population.h"

// Hot functions are cloned per ISA; the helpers they call are forced inline so that each clone
// gets its own copy (an out-of-line helper would be compiled for the baseline ISA only). The
// AVX-512 clone (x86-64-v4) ran lastLayer() at H=100, N=1000 in 32.5 us against 40.5 for the AVX2
// one on an Intel Xeon with AVX-512 (medians of 3,000 calls, three alternations); under valgrind,
// whose emulated CPU has no AVX-512, the AVX2 clone is picked.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DYNLAB_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DYNLAB_HOT
#endif
#define DYNLAB_INLINE __attribute__((always_inline)) inline

namespace dynlab {

namespace {
DYNLAB_INLINE float mask(float a, bool relu) { return relu ? static_cast<float>(a > 0.0f) : 1.0f; }
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

namespace {

// exp(t) for t <= 0 in float, vectorizable (Cephes' expf polynomial after the 2^k range reduction,
// within ~2 ulp); below -87 it returns exp(-87), which no loss or gradient can tell from zero here.
DYNLAB_INLINE float expNonPositive(float t) {
  t = t > -87.0f ? t : -87.0f;
  const float k = std::nearbyint(t * 1.44269504088896341f);
  const float r = (t - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// log(1 + e) for e in [0, 1], as 2 atanh(e / (2 + e)) by its odd series (7 terms, relative error
// below 2e-8), exact for tiny e where 1 + e would round to 1.
DYNLAB_INLINE float log1pUnit(float e) {
  const float s = e / (2.0f + e);
  const float s2 = s * s;
  float p = 1.0f / 13.0f;
  p = p * s2 + 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  return 2.0f * s * p;
}

}  // namespace

DYNLAB_HOT void lossAndGradient(LossKind kind, const float* f, const float* y, int n, float margin, float scale, float sd,
                                float* g, double* loss, double* errors) {
  double total = 0.0, wrong = 0.0;
  const float sd2 = 2.0f * sd;
  switch (kind) {
    case LossKind::Logistic:
      // log(1 + exp(-m)) = max(-m, 0) + log1p(exp(-|m|)); d/df = -y * sigmoid(-m).
#pragma omp simd reduction(+ : total, wrong)
      for (int i = 0; i < n; i++) {
        const float fi = f[i], yi = y[i], m = yi * fi;
        const float am = m < 0.0f ? -m : m;
        const float e = expNonPositive(-am);
        const float inv = 1.0f / (1.0f + e);
        // (m - m) is 0, or NaN when f is not finite: the clamped exp must not hide a diverged output.
        total += static_cast<double>((m < 0.0f ? -m : 0.0f) + log1pUnit(e) + (m - m));
        wrong += m <= 0.0f ? 1.0 : 0.0;
        g[i] = scale * (-yi * (m >= 0.0f ? e : 1.0f) * inv + sd2 * fi);
      }
      break;
    case LossKind::Hinge:
#pragma omp simd reduction(+ : total, wrong)
      for (int i = 0; i < n; i++) {
        const float fi = f[i], yi = y[i], m = yi * fi;
        const float slack = margin - m;
        const float on = static_cast<float>(slack > 0.0f);
        total += static_cast<double>(on * slack);
        wrong += m <= 0.0f ? 1.0 : 0.0;
        g[i] = scale * (-yi * on + sd2 * fi);
      }
      break;
    default:
#pragma omp simd reduction(+ : total, wrong)
      for (int i = 0; i < n; i++) {
        const float fi = f[i], yi = y[i], r = fi - yi;
        total += 0.5 * static_cast<double>(r) * r;
        wrong += yi * fi <= 0.0f ? 1.0 : 0.0;
        g[i] = scale * (r + sd2 * fi);
      }
  }
  *loss = total * scale;
  *errors = wrong;
}

namespace {
// Samples per block of lastLayer(): rows x block floats (up to 512 KiB, half of a 1 MiB L2) stay
// in L2 between the forward and the backward half. Blocks are as long as that allows, since every
// block costs a horizontal reduction per row and per half: at H = 100, N = 1000, one 1000-sample
// block took 18 us per network against 22 us in 320-sample blocks (128 KiB) or 33 us in 64-sample
// ones (which fit L1); the pass is bound by instructions, not by L2 traffic.
int blockFor(int rows) {
  const int b = (131072 / (rows > 0 ? rows : 1)) / 16 * 16;
  return b < 64 ? 64 : b > 8192 ? 8192 : b;
}

// The forward half of one block: activations in place, accumulated into f; the largest
// pre-activation per row when Track (for dead units). Rows go four at a time, so that f is read
// and written once per four rows.
template <bool Relu, bool Track>
DYNLAB_INLINE void blockForward(float* z, int rows, int n, int len, const float* bias, const float* wout, float* fb, float* top) {
  auto act = [](float v) { return Relu ? (v > 0.0f ? v : 0.0f) : v; };
  int h = 0;
  for (; h + 4 <= rows; h += 4) {
    float* r0 = z + static_cast<long>(h) * n;
    float* r1 = r0 + n;
    float* r2 = r1 + n;
    float* r3 = r2 + n;
    const float b0 = bias ? bias[h] : 0.0f, b1 = bias ? bias[h + 1] : 0.0f, b2 = bias ? bias[h + 2] : 0.0f,
                b3 = bias ? bias[h + 3] : 0.0f;
    const float w0 = wout[h], w1 = wout[h + 1], w2 = wout[h + 2], w3 = wout[h + 3];
    float t0 = top[h], t1 = top[h + 1], t2 = top[h + 2], t3 = top[h + 3];
#pragma omp simd reduction(max : t0, t1, t2, t3)
    for (int i = 0; i < len; i++) {
      const float v0 = r0[i] + b0, v1 = r1[i] + b1, v2 = r2[i] + b2, v3 = r3[i] + b3;
      const float a0 = act(v0), a1 = act(v1), a2 = act(v2), a3 = act(v3);
      r0[i] = a0;
      r1[i] = a1;
      r2[i] = a2;
      r3[i] = a3;
      fb[i] += (w0 * a0 + w1 * a1) + (w2 * a2 + w3 * a3);
      if (Track) {
        t0 = t0 > v0 ? t0 : v0;
        t1 = t1 > v1 ? t1 : v1;
        t2 = t2 > v2 ? t2 : v2;
        t3 = t3 > v3 ? t3 : v3;
      }
    }
    if (Track) {
      top[h] = t0;
      top[h + 1] = t1;
      top[h + 2] = t2;
      top[h + 3] = t3;
    }
  }
  for (; h < rows; h++) {
    float* r = z + static_cast<long>(h) * n;
    const float b = bias ? bias[h] : 0.0f;
    const float w = wout[h];
    float t = top[h];
#pragma omp simd reduction(max : t)
    for (int i = 0; i < len; i++) {
      const float v = r[i] + b;
      const float a = act(v);
      r[i] = a;
      fb[i] += w * a;
      if (Track) t = t > v ? t : v;
    }
    if (Track) top[h] = t;
  }
}

// The backward half of one block: dw += a.g per row, dZ = mask(a) * w * g in place, db += sum dZ;
// rows four at a time, so that g is read once per four rows.
template <bool Relu>
DYNLAB_INLINE void blockBackward(float* z, int rows, int n, int len, const float* wout, const float* gb, float* dw, float* db) {
  auto mask = [](float a) { return Relu ? static_cast<float>(a > 0.0f) : 1.0f; };
  int h = 0;
  for (; h + 4 <= rows; h += 4) {
    float* r0 = z + static_cast<long>(h) * n;
    float* r1 = r0 + n;
    float* r2 = r1 + n;
    float* r3 = r2 + n;
    const float w0 = wout[h], w1 = wout[h + 1], w2 = wout[h + 2], w3 = wout[h + 3];
    float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f, s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : d0, d1, d2, d3, s0, s1, s2, s3)
    for (int i = 0; i < len; i++) {
      const float g = gb[i];
      const float a0 = r0[i], a1 = r1[i], a2 = r2[i], a3 = r3[i];
      d0 += a0 * g;
      d1 += a1 * g;
      d2 += a2 * g;
      d3 += a3 * g;
      const float z0 = mask(a0) * w0 * g, z1 = mask(a1) * w1 * g, z2 = mask(a2) * w2 * g, z3 = mask(a3) * w3 * g;
      r0[i] = z0;
      r1[i] = z1;
      r2[i] = z2;
      r3[i] = z3;
      s0 += z0;
      s1 += z1;
      s2 += z2;
      s3 += z3;
    }
    dw[h] += d0;
    dw[h + 1] += d1;
    dw[h + 2] += d2;
    dw[h + 3] += d3;
    if (db) {
      db[h] += s0;
      db[h + 1] += s1;
      db[h + 2] += s2;
      db[h + 3] += s3;
    }
  }
  for (; h < rows; h++) {
    float* r = z + static_cast<long>(h) * n;
    const float w = wout[h];
    float dot = 0.0f, s = 0.0f;
#pragma omp simd reduction(+ : dot, s)
    for (int i = 0; i < len; i++) {
      const float a = r[i];
      dot += a * gb[i];
      const float dz = mask(a) * w * gb[i];
      r[i] = dz;
      s += dz;
    }
    dw[h] += dot;
    if (db) db[h] += s;
  }
}
}  // namespace

DYNLAB_HOT void lastLayer(float* z, int rows, int n, const float* bias, bool relu, const float* wout, float bout,
                          const float* y, const LossTerms& terms, float* f, float* g, float* dw, float* db, int32_t* dead,
                          float* top, double* loss, double* errors) {
  const int block = blockFor(rows);
  *loss = 0.0;
  *errors = 0.0;
  for (int h = 0; h < rows; h++) {
    if (dw) dw[h] = 0.0f;
    if (db) db[h] = 0.0f;
    top[h] = 0.0f;
  }
  const bool track = dead && relu;
  for (int i0 = 0; i0 < n; i0 += block) {
    const int len = n - i0 < block ? n - i0 : block;
    float* zb = z + i0;
    float* fb = f + i0;
#pragma omp simd
    for (int i = 0; i < len; i++) fb[i] = bout;
    if (relu && track)
      blockForward<true, true>(zb, rows, n, len, bias, wout, fb, top);
    else if (relu)
      blockForward<true, false>(zb, rows, n, len, bias, wout, fb, top);
    else
      blockForward<false, false>(zb, rows, n, len, bias, wout, fb, top);
    double l = 0.0, e = 0.0;
    lossAndGradient(terms.kind, fb, y + i0, len, terms.margin, terms.scale, terms.spectral, g + i0, &l, &e);
    *loss += l;
    *errors += e;
    if (!dw) continue;
    if (relu)
      blockBackward<true>(zb, rows, n, len, wout, g + i0, dw, db);
    else
      blockBackward<false>(zb, rows, n, len, wout, g + i0, dw, db);
  }
  if (track)
    for (int h = 0; h < rows; h++)
      if (!(top[h] > 0.0f)) dead[h] += 1;
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

DYNLAB_HOT void addInto(float* dst, const float* src, int n) {
#pragma omp simd
  for (int i = 0; i < n; i++) dst[i] += src[i];
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
