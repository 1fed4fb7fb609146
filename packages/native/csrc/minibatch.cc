// Seeded minibatch order; see minibatch.h. The hashing and the generator mirror rng.ts exactly
// (32-bit unsigned arithmetic, the same double-precision uniform).
#include "minibatch.h"

#include <cmath>

namespace dynlab {

namespace {

uint32_t mix(uint32_t h, uint32_t v) {
  h = (h ^ v) * 0xcc9e2d51u;
  h = (h << 15) | (h >> 17);
  h = h * 0x1b873593u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

class Sfc32 {
 public:
  Sfc32(uint32_t a, uint32_t b, uint32_t c, uint32_t d) : a_(a), b_(b), c_(c), d_(d) {
    for (int i = 0; i < 12; i++) next();
  }
  uint32_t next() {
    const uint32_t t = a_ + b_ + d_;
    d_ += 1;
    a_ = b_ ^ (b_ >> 9);
    b_ = c_ + (c_ << 3);
    c_ = (c_ << 21) | (c_ >> 11);
    c_ += t;
    return t;
  }
  double uniform() {
    const double hi = static_cast<double>(next() >> 5);
    const double lo = static_cast<double>(next() >> 6);
    return (hi * 67108864.0 + lo) / 9007199254740992.0;
  }
  int below(int n) { return static_cast<int>(std::floor(uniform() * n)); }

 private:
  uint32_t a_, b_, c_, d_;
};

// stream(seed, "batches", epoch) of rng.ts.
Sfc32 batchStream(uint32_t seed, uint32_t epoch) {
  uint32_t h = mix(0x9e3779b9u, seed);
  h = mix(h, 0);  // the high word of the seed (seeds are 32-bit)
  for (const char* c = "batches"; *c; c++) h = mix(h, static_cast<uint32_t>(*c));
  h = mix(h, 0x2f);
  h = mix(mix(h, 0x6e756d), epoch);
  h = mix(h, 0x2f);
  return Sfc32(h, mix(h, 1), mix(h, 2), mix(h, 3));
}

}  // namespace

MinibatchSchedule::MinibatchSchedule(uint32_t seed, int samples, int batchSize)
    : seed_(seed), samples_(samples), batchSize_(batchSize), perEpoch_(samples / batchSize), perm_(samples) {}

const int32_t* MinibatchSchedule::at(int step) {
  const int e = step / perEpoch_;
  if (e != epoch_) {
    Sfc32 rng = batchStream(seed_, static_cast<uint32_t>(e));
    for (int i = 0; i < samples_; i++) perm_[i] = i;
    for (int i = samples_ - 1; i > 0; i--) {
      const int j = rng.below(i + 1);
      const int32_t t = perm_[i];
      perm_[i] = perm_[j];
      perm_[j] = t;
    }
    epoch_ = e;
  }
  return perm_.data() + static_cast<size_t>(step % perEpoch_) * batchSize_;
}

}  // namespace dynlab
