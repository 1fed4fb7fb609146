// A population of small fully connected networks trained together on the CPU.
//
// Why it is shaped this way: the networks of a population are independent, so the work is split
// into chunks of a few networks that run all their steps while their activations stay in cache.
// When the networks of a chunk share their inputs, the first layer of the whole chunk is one GEMM
// (the population folded into the hidden dimension: [c*H, D] x [D, N]) and so is its weight
// gradient ([c*H, N] x [N, D]); those two products are nearly all the arithmetic of the canonical
// workload, and they go to the system CBLAS. Everything else (bias, activation, output, loss,
// backward elementwise work, gradient shares, the optimizer update) is a handful of fused loops in
// kernels.cc. Nothing here knows about Node: addon.cc owns the N-API side and every shape check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minibatch.h"

namespace dynlab {

enum class Activation : int { Identity = 0, Relu = 1 };
enum class LossKind : int { Logistic = 0, Hinge = 1, Squared = 2 };
enum class OptimizerKind : int { Gd = 0, Sgd = 1, Momentum = 2, Adam = 3 };

// Everything that is the same for every network of the population.
struct Shape {
  int population = 0;           // P
  int samples = 0;              // N
  std::vector<int> widths;      // [D, hidden..., 1]
  Activation activation = Activation::Relu;
  bool bias = false;
  std::vector<uint8_t> trainable;      // per layer
  std::vector<uint8_t> biasTrainable;  // per layer
  LossKind loss = LossKind::Logistic;
  bool meanReduction = true;
  OptimizerKind optimizer = OptimizerKind::Gd;
  int batchSize = 0;            // 0: full batch
  int probes = 0;               // Q probe inputs per network
  int chunk = 4;                // networks per chunk
  std::vector<int> dataset;     // per network (caller's order): which dataset it trains on
  int datasets = 0;
};

// Per-network scalars, in the caller's order; double, so that 1 - beta and Adam's bias corrections
// are formed from the exact values the trial gives (0.999 is 0.99900001 in float32, and 1 - beta2
// would then be 1.3e-5 off).
struct Hyper {
  std::vector<double> learningRate, margin, weightDecay, spectral, momentum, beta1, beta2, epsilon;
  std::vector<uint32_t> seed;  // the trial seed, which names its minibatch order
};

// Where measure() writes; a null pointer means "not requested". All in the caller's order.
struct MeasureOut {
  float* loss = nullptr;          // P
  float* error = nullptr;         // P
  float* gradShare = nullptr;     // P x D
  float* probeOutputs = nullptr;  // P x Q
  float* trainOutputs = nullptr;  // P x N
  float* paramNorms = nullptr;    // P x layers
  float* deadUnits = nullptr;     // P x (layers - 1)
};

// Where the time of advance() and measure() went, accumulated since construction or reset.
struct Profile {
  double totalSeconds = 0, gemmSeconds = 0, updateSeconds = 0;
  double gemmFlops = 0;  // 2mnk summed over the GEMM calls
};

struct AlignedFree {
  void operator()(float* p) const;
};
using Buffer = std::unique_ptr<float[], AlignedFree>;
Buffer allocate(size_t count);

class Population {
 public:
  // `x[d]` is dataset d's inputs (N x D, row-major), `y[d]` its labels; `weights[l]` and `biases[l]`
  // hold every network's layer l (P x out x in and P x out, caller's order); `probes` is P x Q x D.
  // Every length has been checked by the caller (addon.cc).
  Population(Shape shape, Hyper hyper, const std::vector<const float*>& x, const std::vector<const float*>& y,
             const std::vector<const float*>& weights, const std::vector<const float*>& biases, const float* probes);
  ~Population();

  void advance(int count);
  void measure(const MeasureOut& out);
  int stepsDone() const { return steps_; }
  const Shape& shape() const { return shape_; }
  // First step with non-finite parameters or loss per network (caller's order), or -1.
  void divergedAt(int32_t* out) const;
  // Copies layer l's parameters out (caller's order), for tests and checkpoints.
  void readParams(int layer, float* weights, float* biases) const;
  size_t bytes() const { return bytes_; }
  const Profile& profile() const { return profile_; }
  void resetProfile() { profile_ = Profile(); }

 private:
  struct Workspace;
  struct Chunk {
    int first;  // first network (internal order)
    int count;
    int dataset;
  };

  // One forward and backward pass of a chunk on a batch (rows of its dataset, or every row).
  // Writes the data loss and error per network into lossOut/errOut when given.
  // `lowestGrad` is the lowest layer whose parameters need a gradient (layers_ for none);
  // `firstWeights` whether the first layer's weight gradient is needed (its bias needs only dZ).
  // `xt` is x transposed ([D, rows]) when the caller has it (whole datasets), else null.
  void evaluate(const Chunk& c, Workspace& ws, const float* x, const float* xt, const float* y, int rows, bool measuring, int lowestGrad,
                bool firstWeights, double* lossOut, double* errOut);
  // Forward to the output f; with `fused`, stops before the last hidden layer's activation (left to
  // lastLayer(), which also takes the loss and starts the backward pass).
  void forward(const Chunk& c, Workspace& ws, const float* x, const float* xt, int rows, bool measuring, bool fused);
  void backward(const Chunk& c, Workspace& ws, const float* x, int rows, int lowestGrad, bool firstWeights);
  void update(const Chunk& c, int step);
  void gatherBatch(int network, int step, Workspace& ws);
  void markDiverged(int network, int step);
  // cblas_sgemm (row-major), timed into the profile.
  void gemm(bool transA, bool transB, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
  int lowestTrainable() const;

  Shape shape_;
  Hyper hyper_;  // internal order
  int layers_ = 0, inputs_ = 0, maxWidth_ = 0;
  std::vector<int> order_;  // internal -> caller's index
  std::vector<Chunk> chunks_;
  std::vector<Buffer> x_, xt_, y_;               // per dataset: x [N, D], x transposed [D, N], y
  std::vector<Buffer> w_, b_, gw_, gb_;          // per layer, whole population
  std::vector<Buffer> mw_, mb_, vw_, vb_;        // optimizer state per layer
  Buffer probes_;                                // P x Q x D, internal order
  std::unique_ptr<Workspace> ws_, probeWs_;
  std::vector<MinibatchSchedule> schedules_;     // internal order, with minibatches only
  std::vector<int32_t> diverged_;                // internal order
  int steps_ = 0;
  int gradsAt_ = -1;  // step whose full-batch gradients gw_/gb_ hold, or -1
  size_t bytes_ = 0;
  Profile profile_;
};

}  // namespace dynlab
