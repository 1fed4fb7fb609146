// The minibatch order of a trial, bit for bit the engine's (packages/engine/src/minibatch.ts).
//
// Why it is recomputed here rather than passed in: a step's batch is a slice of a seeded
// permutation of the training set, so a few integers (trial seed, epoch) name it; drawing it in
// C++ keeps the native call free of per-step index arrays. Epoch e is the Fisher-Yates permutation
// from the stream (trial seed, "batches", e) of an sfc32 generator, cut into floor(n / b)
// consecutive batches of b rows. The tests check it against the engine's own schedule.
#pragma once

#include <cstdint>
#include <vector>

namespace dynlab {

class MinibatchSchedule {
 public:
  MinibatchSchedule(uint32_t seed, int samples, int batchSize);
  // The rows of step `step`'s batch (batchSize of them); valid until the next call.
  const int32_t* at(int step);

 private:
  uint32_t seed_;
  int samples_, batchSize_, perEpoch_;
  int epoch_ = -1;
  std::vector<int32_t> perm_;
};

}  // namespace dynlab
