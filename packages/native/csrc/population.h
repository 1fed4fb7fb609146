// A population of small fully connected networks trained together on the CPU.
//
// Why it is shaped this way: the networks of a population are independent, so the work is split
// into chunks of a few networks that run all their steps while their activations stay in cache.
// When the networks of a chunk share their inputs, the first layer of the whole chunk is one GEMM
// (the population folded into the hidden dimension: [c*H, D] x [D, N]) and so is its weight
// gradient ([c*H, N] x [N, D]); those two products are nearly all the arithmetic of the canonical
// workload, and they go to the system CBLAS. Everything else (bias, activation, output, loss,
// backward elementwise work, gradient shares, the optimizer update) is a handful of fused loops in
// kernels.cc. With `threads` > 1 the samples of each chunk are split over a team of threads (lanes),
// each running the whole pass on its samples into its own gradients, which are then summed: that is
// how a lone network (P=1) uses several cores (see team.h). Nothing here knows about Node: addon.cc
// owns the N-API side and every shape check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "minibatch.h"
#include "team.h"

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
  int threads = 1;              // lanes that split the samples of full-batch passes
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

// Where the time of advance() and measure() went, accumulated since construction or reset. With
// several lanes the times are thread-seconds: totalSeconds is the wall time of each call times the
// lanes it used, gemmSeconds the sum of every lane's GEMM time.
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
  Profile profile() const;
  void resetProfile();
  // Lanes that full-batch passes are split over (threads, at most one per sample).
  int lanes() const;

 private:
  struct Workspace;
  struct Lane;
  struct Chunk {
    int first;  // first network (internal order)
    int count;
    int dataset;
  };
  // The samples a pass runs on: `rows` consecutive rows of a batch of `total`.
  struct Slice {
    const float* x;   // the slice's inputs, [rows, D]
    const float* xt;  // the batch's inputs transposed, from the slice's first column ([D, ldxt]), or null
    int ldxt;
    const float* y;   // the slice's labels
    int rows;
    int total;  // samples of the whole batch: the mean's denominator
  };
  // Where a pass writes its gradients: per layer, those of the chunk's first network (the others
  // follow it), and which of them the pass wrote.
  struct Grads {
    std::vector<float*> w, b;
    std::vector<char> wroteW, wroteB;
    float* weights(int l) {
      wroteW[l] = 1;
      return w[l];
    }
    float* biases(int l) {
      wroteB[l] = 1;
      return b[l];
    }
  };

  // One forward and backward pass of a chunk on a slice of a batch, gradients into `g`, GEMM time
  // into `prof`. Writes the data loss (over the whole batch's mean) and the count of errors per
  // network into lossOut/errOut. `lowestGrad` is the lowest layer whose parameters need a gradient
  // (layers_ for none); `firstWeights` whether the first layer's weight gradient is needed (its
  // bias needs only dZ).
  void evaluate(const Chunk& c, Workspace& ws, const Slice& s, Grads& g, Profile& prof, bool measuring, int lowestGrad,
                bool firstWeights, double* lossOut, double* errOut);
  // evaluate() on every sample of the chunk's dataset, split over the lanes, the lanes' gradients
  // summed into the population's; loss and error counts summed likewise.
  void evaluateAll(const Chunk& c, bool measuring, int lowestGrad, bool firstWeights, double* lossOut, double* errOut);
  // Forward to the output f; with `fused`, stops before the last hidden layer's activation (left to
  // lastLayer(), which also takes the loss and starts the backward pass).
  void forward(const Chunk& c, Workspace& ws, const Slice& s, Profile& prof, bool measuring, bool fused);
  void backward(const Chunk& c, Workspace& ws, const Slice& s, Grads& g, Profile& prof, int lowestGrad, bool firstWeights);
  Grads populationGrads(const Chunk& c);
  void update(const Chunk& c, int step);
  void gatherBatch(int network, int step, Workspace& ws);
  void markDiverged(int network, int step);
  // cblas_sgemm (row-major), timed into `prof`.
  static void gemm(Profile& prof, bool transA, bool transB, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                   float* c, int ldc);
  int lowestTrainable() const;
  int hiddenUnits() const;

  Shape shape_;
  Hyper hyper_;  // internal order
  int layers_ = 0, inputs_ = 0, maxWidth_ = 0;
  std::vector<int> order_;  // internal -> caller's index
  std::vector<Chunk> chunks_;
  std::vector<Buffer> x_, xt_, y_;               // per dataset: x [N, D], x transposed [D, N], y
  std::vector<Buffer> w_, b_, gw_, gb_;          // per layer, whole population
  std::vector<Buffer> mw_, mb_, vw_, vb_;        // optimizer state per layer
  Buffer probes_;                                // P x Q x D, internal order
  std::vector<Lane> lanes_;                      // lane 0 also runs minibatch steps
  std::unique_ptr<Team> team_;                   // with more than one lane
  std::unique_ptr<Workspace> probeWs_;
  std::vector<MinibatchSchedule> schedules_;     // internal order, with minibatches only
  std::vector<int32_t> diverged_;                // internal order
  int steps_ = 0;
  int gradsAt_ = -1;  // step whose full-batch gradients gw_/gb_ hold, or -1
  size_t bytes_ = 0;
  Profile profile_;
};

}  // namespace dynlab
