// Population training: chunking, the two folded GEMMs, the deeper layers' per-network GEMMs, the
// optimizer steps and the measurements. See population.h for the shape of the computation.
#include "population.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "kernels.h"

namespace dynlab {

void AlignedFree::operator()(float* p) const { std::free(p); }

Buffer allocate(size_t count) {
  const size_t bytes = ((std::max<size_t>(count, 1) * sizeof(float) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return Buffer(static_cast<float*>(p));
}

// Scratch memory of one chunk: activations per hidden layer (overwritten in place by their
// gradients on the way back), outputs, dJ/df, one network's dA, and one network's gathered batch.
struct Population::Workspace {
  int networks = 0, rows = 0;
  std::vector<Buffer> act;  // index l = 1..layers-1: networks x widths[l] x rows
  Buffer f, g, tmp, xb, yb;
  std::vector<int32_t> dead;  // networks x (sum of hidden widths)
  std::vector<float> top;     // lastLayer()'s per-unit maximum
  size_t bytes = 0;

  Workspace(const std::vector<int>& widths, int networks_, int rows_, int maxWidth, bool gather)
      : networks(networks_), rows(rows_) {
    const int layers = static_cast<int>(widths.size()) - 1;
    act.resize(layers);
    int hidden = 0;
    for (int l = 1; l < layers; l++) {
      const size_t n = static_cast<size_t>(networks) * widths[l] * rows;
      act[l] = allocate(n);
      bytes += n * 4;
      hidden += widths[l];
    }
    f = allocate(static_cast<size_t>(networks) * rows);
    g = allocate(static_cast<size_t>(networks) * rows);
    tmp = allocate(static_cast<size_t>(maxWidth) * rows);
    bytes += (2 * static_cast<size_t>(networks) + maxWidth) * rows * 4;
    if (gather) {
      xb = allocate(static_cast<size_t>(rows) * widths[0]);
      yb = allocate(rows);
      bytes += static_cast<size_t>(rows) * (widths[0] + 2) * 4;
    }
    dead.resize(static_cast<size_t>(networks) * hidden);
    top.resize(maxWidth);
  }
};

// One lane: the samples [begin, begin + rows) of every full-batch pass, its scratch memory, its
// gradients (lanes after the first; the first writes the population's own), its GEMM time, and
// its per-network loss and error count of the last pass.
struct Population::Lane {
  int begin = 0, rows = 0;
  std::unique_ptr<Workspace> ws;
  std::vector<Buffer> gw, gb;  // per layer, chunk networks
  Grads grads;
  Profile profile;
  std::vector<double> loss, errors;
};

Population::Population(Shape shape, Hyper hyper, const std::vector<const float*>& x, const std::vector<const float*>& y,
                       const std::vector<const float*>& weights, const std::vector<const float*>& biases,
                       const float* probes)
    : shape_(std::move(shape)) {
  const int P = shape_.population, N = shape_.samples;
  layers_ = static_cast<int>(shape_.widths.size()) - 1;
  inputs_ = shape_.widths[0];
  maxWidth_ = *std::max_element(shape_.widths.begin(), shape_.widths.end());
  if (!shape_.bias) std::fill(shape_.biasTrainable.begin(), shape_.biasTrainable.end(), 0);

  // Networks that train on the same dataset are made neighbours, so a chunk can fold them.
  order_.resize(P);
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) { return shape_.dataset[a] < shape_.dataset[b]; });
  const int chunk = std::max(1, shape_.chunk);
  for (int i = 0; i < P;) {
    const int d = shape_.dataset[order_[i]];
    int n = 1;
    while (i + n < P && n < chunk && shape_.dataset[order_[i + n]] == d) n++;
    chunks_.push_back({i, n, d});
    i += n;
  }

  auto reorder = [&](const std::vector<double>& v) {
    std::vector<double> r(P);
    for (int i = 0; i < P; i++) r[i] = v[order_[i]];
    return r;
  };
  hyper_.learningRate = reorder(hyper.learningRate);
  hyper_.margin = reorder(hyper.margin);
  hyper_.weightDecay = reorder(hyper.weightDecay);
  hyper_.spectral = reorder(hyper.spectral);
  hyper_.momentum = reorder(hyper.momentum);
  hyper_.beta1 = reorder(hyper.beta1);
  hyper_.beta2 = reorder(hyper.beta2);
  hyper_.epsilon = reorder(hyper.epsilon);

  const size_t xd = static_cast<size_t>(N) * inputs_;
  for (int d = 0; d < shape_.datasets; d++) {
    x_.push_back(allocate(xd));
    xt_.push_back(allocate(xd));
    y_.push_back(allocate(N));
    std::memcpy(x_.back().get(), x[d], xd * 4);
    for (int r = 0; r < N; r++)
      for (int j = 0; j < inputs_; j++) xt_.back()[static_cast<size_t>(j) * N + r] = x[d][static_cast<size_t>(r) * inputs_ + j];
    std::memcpy(y_.back().get(), y[d], static_cast<size_t>(N) * 4);
    bytes_ += (2 * xd + N) * 4;
  }

  const bool momentum = shape_.optimizer == OptimizerKind::Momentum;
  const bool adam = shape_.optimizer == OptimizerKind::Adam;
  for (int l = 0; l < layers_; l++) {
    const size_t out = shape_.widths[l + 1], in = shape_.widths[l];
    const size_t per = out * in;
    w_.push_back(allocate(P * per));
    b_.push_back(allocate(P * out));
    gw_.push_back(allocate(P * per));
    gb_.push_back(allocate(P * out));
    for (int i = 0; i < P; i++) {
      std::memcpy(w_[l].get() + i * per, weights[l] + order_[i] * per, per * 4);
      std::memcpy(b_[l].get() + i * out, biases[l] + order_[i] * out, out * 4);
    }
    const size_t states = momentum ? 1 : adam ? 2 : 0;
    mw_.push_back(allocate(states >= 1 ? P * per : 0));
    mb_.push_back(allocate(states >= 1 ? P * out : 0));
    vw_.push_back(allocate(states >= 2 ? P * per : 0));
    vb_.push_back(allocate(states >= 2 ? P * out : 0));
    bytes_ += (2 + states) * P * (per + out) * 4;
  }

  const int Q = shape_.probes;
  probes_ = allocate(static_cast<size_t>(P) * Q * inputs_);
  for (int i = 0; i < P; i++)
    std::memcpy(probes_.get() + static_cast<size_t>(i) * Q * inputs_, probes + static_cast<size_t>(order_[i]) * Q * inputs_,
                static_cast<size_t>(Q) * inputs_ * 4);

  const bool minibatch = shape_.batchSize > 0;
  if (minibatch)
    for (int i = 0; i < P; i++) schedules_.emplace_back(hyper.seed[order_[i]], N, shape_.batchSize);
  // Lanes split the samples evenly, at multiples of 16 (64-byte columns of the transposed inputs)
  // where every lane still gets 16 or more; never more lanes than samples.
  const int lanes = std::max(1, std::min(shape_.threads, N));
  lanes_.resize(lanes);
  const int chunkCap = std::min(chunk, P);
  for (int t = 0; t < lanes; t++) {
    auto edge = [&](int k) {
      const int e = static_cast<int>(static_cast<int64_t>(k) * N / lanes);
      return N >= 32 * lanes && k < lanes ? e / 16 * 16 : e;
    };
    Lane& lane = lanes_[t];
    lane.begin = edge(t);
    lane.rows = edge(t + 1) - lane.begin;
    const int rows = t == 0 && minibatch ? std::max(lane.rows, shape_.batchSize) : lane.rows;
    lane.ws = std::make_unique<Workspace>(shape_.widths, chunkCap, rows, maxWidth_, t == 0 && minibatch);
    bytes_ += lane.ws->bytes;
    lane.loss.assign(chunkCap, 0.0);
    lane.errors.assign(chunkCap, 0.0);
    lane.grads.wroteW.assign(layers_, 0);
    lane.grads.wroteB.assign(layers_, 0);
    for (int l = 0; l < layers_ && t > 0; l++) {
      const size_t out = shape_.widths[l + 1], per = out * shape_.widths[l];
      lane.gw.push_back(allocate(chunkCap * per));
      lane.gb.push_back(allocate(chunkCap * out));
      lane.grads.w.push_back(lane.gw.back().get());
      lane.grads.b.push_back(lane.gb.back().get());
      bytes_ += chunkCap * (per + out) * 4;
    }
  }
  if (lanes > 1) team_ = std::make_unique<Team>(lanes);
  probeWs_ = std::make_unique<Workspace>(shape_.widths, 1, std::max(Q, 1), maxWidth_, false);
  bytes_ += probeWs_->bytes;

  diverged_.assign(P, -1);
  for (int i = 0; i < P; i++) {
    float check = 0.0f;
    for (int l = 0; l < layers_; l++) {
      const size_t out = shape_.widths[l + 1], per = out * shape_.widths[l];
      check += static_cast<float>(sumSquares(w_[l].get() + i * per, static_cast<int>(per)) * 0.0);
      check += static_cast<float>(sumSquares(b_[l].get() + i * out, static_cast<int>(out)) * 0.0);
    }
    if (!std::isfinite(check)) diverged_[i] = 0;
  }
}

Population::~Population() = default;

int Population::lowestTrainable() const {
  for (int l = 0; l < layers_; l++)
    if (shape_.trainable[l] || shape_.biasTrainable[l]) return l;
  return layers_;
}

int Population::hiddenUnits() const {
  int hidden = 0;
  for (int l = 1; l < layers_; l++) hidden += shape_.widths[l];
  return hidden;
}

int Population::lanes() const { return static_cast<int>(lanes_.size()); }

Profile Population::profile() const {
  Profile p = profile_;
  for (const Lane& lane : lanes_) {
    p.gemmSeconds += lane.profile.gemmSeconds;
    p.gemmFlops += lane.profile.gemmFlops;
  }
  return p;
}

void Population::resetProfile() {
  profile_ = Profile();
  for (Lane& lane : lanes_) lane.profile = Profile();
}

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

void Population::gemm(Profile& prof, bool transA, bool transB, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                      float* c, int ldc) {
  const auto t0 = Clock::now();
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda,
              b, ldb, 0.0f, c, ldc);
  prof.gemmSeconds += since(t0);
  prof.gemmFlops += 2.0 * m * n * k;
}

void Population::markDiverged(int network, int step) {
  int32_t& d = diverged_[network];
  if (d < 0 || step < d) d = step;
}

Population::Grads Population::populationGrads(const Chunk& c) {
  Grads g;
  for (int l = 0; l < layers_; l++) {
    const size_t out = shape_.widths[l + 1], per = out * shape_.widths[l];
    g.w.push_back(gw_[l].get() + static_cast<size_t>(c.first) * per);
    g.b.push_back(gb_[l].get() + static_cast<size_t>(c.first) * out);
  }
  g.wroteW.assign(layers_, 0);
  g.wroteB.assign(layers_, 0);
  return g;
}

void Population::forward(const Chunk& c, Workspace& ws, const Slice& s, Profile& prof, bool measuring, bool fused) {
  const int L = layers_, D = inputs_, H1 = shape_.widths[1], rows = s.rows;
  const bool relu = shape_.activation == Activation::Relu;
  const bool bias = shape_.bias;
  float* first = L == 1 ? ws.f.get() : ws.act[1].get();
  // The first layer of the chunk in one GEMM; a pre-transposed X makes it NN, about 3% faster.
  const float* w0 = w_[0].get() + static_cast<size_t>(c.first) * H1 * D;
  if (s.xt)
    gemm(prof, false, false, c.count * H1, rows, D, w0, D, s.xt, s.ldxt, first, rows);
  else
    gemm(prof, false, true, c.count * H1, rows, D, w0, D, s.x, D, first, rows);
  if (L == 1) {
    if (bias)
      for (int k = 0; k < c.count; k++) activate(ws.f.get() + static_cast<size_t>(k) * rows, 1, rows, b_[0].get() + c.first + k, false, nullptr);
    return;
  }
  const int hidden = hiddenUnits();
  if (measuring) std::fill(ws.dead.begin(), ws.dead.begin() + static_cast<size_t>(c.count) * hidden, 0);
  int deadOffset = 0;
  for (int l = 1; l < L; l++) {
    const int H = shape_.widths[l], Hp = shape_.widths[l - 1];
    for (int k = 0; k < c.count; k++) {
      const size_t i = static_cast<size_t>(c.first) + k;
      float* z = ws.act[l].get() + static_cast<size_t>(k) * H * rows;
      if (l >= 2)
        gemm(prof, false, false, H, rows, Hp, w_[l - 1].get() + i * H * Hp, Hp,
             ws.act[l - 1].get() + static_cast<size_t>(k) * Hp * rows, rows, z, rows);
      const float* b = bias ? b_[l - 1].get() + i * H : nullptr;
      int32_t* dead = measuring ? ws.dead.data() + static_cast<size_t>(k) * hidden + deadOffset : nullptr;
      if (l < L - 1)
        activate(z, H, rows, b, relu, dead);
      else if (!fused)
        activateAndOutput(z, H, rows, b, relu, w_[L - 1].get() + i * H, bias ? b_[L - 1][i] : 0.0f,
                          ws.f.get() + static_cast<size_t>(k) * rows, dead);
    }
    deadOffset += H;
  }
}

void Population::backward(const Chunk& c, Workspace& ws, const Slice& s, Grads& g, Profile& prof, int lowest, bool firstWeights) {
  const int L = layers_, D = inputs_, H1 = shape_.widths[1], rows = s.rows;
  const bool relu = shape_.activation == Activation::Relu;
  const bool bias = shape_.bias;
  // For L >= 2, lastLayer() has already turned the last hidden activations into dZ.
  if (L == 1) {
    if (firstWeights) gemm(prof, false, false, c.count, D, rows, ws.g.get(), rows, s.x, D, g.weights(0), D);
    if (bias)
      for (int k = 0; k < c.count; k++) g.biases(0)[k] = static_cast<float>(sum(ws.g.get() + static_cast<size_t>(k) * rows, rows));
    return;
  }
  for (int l = L - 2; l >= 1 && l >= lowest; l--) {
    const int Ho = shape_.widths[l + 1], Hi = shape_.widths[l];
    for (int k = 0; k < c.count; k++) {
      const size_t i = static_cast<size_t>(c.first) + k;
      const float* dz = ws.act[l + 1].get() + static_cast<size_t>(k) * Ho * rows;
      float* a = ws.act[l].get() + static_cast<size_t>(k) * Hi * rows;
      if (shape_.trainable[l])
        gemm(prof, false, true, Ho, Hi, rows, dz, rows, a, rows, g.weights(l) + static_cast<size_t>(k) * Ho * Hi, Hi);
      if (lowest < l) {
        gemm(prof, true, false, Hi, rows, Ho, w_[l].get() + i * Ho * Hi, Hi, dz, rows, ws.tmp.get(), rows);
        activationBackward(a, ws.tmp.get(), Hi, rows, relu, bias ? g.biases(l - 1) + static_cast<size_t>(k) * Hi : nullptr);
      }
    }
  }
  if (firstWeights) gemm(prof, false, false, c.count * H1, D, rows, ws.act[1].get(), rows, s.x, D, g.weights(0), D);
}

void Population::evaluate(const Chunk& c, Workspace& ws, const Slice& s, Grads& g, Profile& prof, bool measuring, int lowest,
                          bool firstWeights, double* lossOut, double* errOut) {
  forward(c, ws, s, prof, measuring, true);
  const int rows = s.rows;
  const float scale = shape_.meanReduction ? 1.0f / static_cast<float>(s.total) : 1.0f;
  const int L = layers_, H = shape_.widths[L - 1];
  const bool back = lowest < L, bias = shape_.bias;
  const int hidden = hiddenUnits();
  for (int k = 0; k < c.count; k++) {
    const size_t i = static_cast<size_t>(c.first) + k;
    const LossTerms terms{shape_.loss, static_cast<float>(hyper_.margin[i]), scale, static_cast<float>(hyper_.spectral[i])};
    float* f = ws.f.get() + static_cast<size_t>(k) * rows;
    float* gr = ws.g.get() + static_cast<size_t>(k) * rows;
    double loss = 0.0, errors = 0.0;
    if (L == 1) {
      lossAndGradient(terms.kind, f, s.y, rows, terms.margin, terms.scale, terms.spectral, gr, &loss, &errors);
    } else {
      int32_t* dead = measuring ? ws.dead.data() + static_cast<size_t>(k) * hidden + (hidden - H) : nullptr;
      lastLayer(ws.act[L - 1].get() + static_cast<size_t>(k) * H * rows, H, rows, bias ? b_[L - 2].get() + i * H : nullptr,
                shape_.activation == Activation::Relu, w_[L - 1].get() + i * H, bias ? b_[L - 1][i] : 0.0f, s.y, terms, f, gr,
                back ? g.weights(L - 1) + static_cast<size_t>(k) * H : nullptr,
                back && bias ? g.biases(L - 2) + static_cast<size_t>(k) * H : nullptr, dead, ws.top.data(), &loss, &errors);
      if (back && bias) g.biases(L - 1)[k] = static_cast<float>(sum(gr, rows));
    }
    lossOut[k] = loss;
    errOut[k] = errors;
  }
  if (back) backward(c, ws, s, g, prof, lowest, firstWeights);
}

void Population::evaluateAll(const Chunk& c, bool measuring, int lowest, bool firstWeights, double* lossOut, double* errOut) {
  const int N = shape_.samples, lanes = static_cast<int>(lanes_.size());
  const float* x = x_[c.dataset].get();
  const float* xt = xt_[c.dataset].get();
  const float* y = y_[c.dataset].get();
  lanes_[0].grads = populationGrads(c);
  auto pass = [&](int t) {
    Lane& lane = lanes_[t];
    const Slice s{x + static_cast<size_t>(lane.begin) * inputs_, xt + lane.begin, N, y + lane.begin, lane.rows, N};
    if (t > 0) {
      std::fill(lane.grads.wroteW.begin(), lane.grads.wroteW.end(), 0);
      std::fill(lane.grads.wroteB.begin(), lane.grads.wroteB.end(), 0);
    }
    evaluate(c, *lane.ws, s, lane.grads, lane.profile, measuring, lowest, firstWeights, lane.loss.data(), lane.errors.data());
  };
  if (lanes == 1)
    pass(0);
  else
    team_->run(lanes, pass);
  for (int k = 0; k < c.count; k++) {
    lossOut[k] = 0.0;
    errOut[k] = 0.0;
    for (const Lane& lane : lanes_) {
      lossOut[k] += lane.loss[k];
      errOut[k] += lane.errors[k];
    }
  }
  // Every lane ran the same code, so lane 0's marks say which gradients to sum (in lane order).
  const Grads& g = lanes_[0].grads;
  for (int l = 0; l < layers_; l++) {
    const size_t out = shape_.widths[l + 1], per = out * shape_.widths[l];
    for (int t = 1; t < lanes; t++) {
      if (g.wroteW[l]) addInto(g.w[l], lanes_[t].grads.w[l], static_cast<int>(c.count * per));
      if (g.wroteB[l]) addInto(g.b[l], lanes_[t].grads.b[l], static_cast<int>(c.count * out));
    }
  }
}

void Population::update(const Chunk& c, int step) {
  const auto t0 = Clock::now();
  const OptimizerKind kind = shape_.optimizer;
  for (int k = 0; k < c.count; k++) {
    const size_t i = static_cast<size_t>(c.first) + k;
    const float lr = static_cast<float>(hyper_.learningRate[i]), wd = static_cast<float>(hyper_.weightDecay[i]);
    const double b1 = hyper_.beta1[i], b2 = hyper_.beta2[i];
    const AdamCoefficients adam{static_cast<float>(b1), static_cast<float>(1.0 - b1), static_cast<float>(b2), static_cast<float>(1.0 - b2),
                                static_cast<float>(hyper_.epsilon[i]), static_cast<float>(1.0 / (1.0 - std::pow(b1, step + 1))),
                                static_cast<float>(1.0 / (1.0 - std::pow(b2, step + 1)))};
    float check = 0.0f;
    auto apply = [&](float* w, const float* g, float* m, float* v, int n) {
      switch (kind) {
        case OptimizerKind::Momentum:
          check += updateMomentum(w, g, m, n, lr, wd, static_cast<float>(hyper_.momentum[i]));
          break;
        case OptimizerKind::Adam:
          check += updateAdam(w, g, m, v, n, lr, wd, adam);
          break;
        default:
          check += updateGd(w, g, n, lr, wd);
      }
    };
    for (int l = 0; l < layers_; l++) {
      const size_t out = shape_.widths[l + 1], per = out * shape_.widths[l];
      const bool state = kind == OptimizerKind::Momentum || kind == OptimizerKind::Adam;
      const bool second = kind == OptimizerKind::Adam;
      if (shape_.trainable[l])
        apply(w_[l].get() + i * per, gw_[l].get() + i * per, state ? mw_[l].get() + i * per : nullptr,
              second ? vw_[l].get() + i * per : nullptr, static_cast<int>(per));
      if (shape_.biasTrainable[l])
        apply(b_[l].get() + i * out, gb_[l].get() + i * out, state ? mb_[l].get() + i * out : nullptr,
              second ? vb_[l].get() + i * out : nullptr, static_cast<int>(out));
    }
    if (!std::isfinite(check)) markDiverged(static_cast<int>(i), step + 1);
  }
  profile_.updateSeconds += since(t0);
}

void Population::gatherBatch(int network, int step, Workspace& ws) {
  const int B = shape_.batchSize, D = inputs_;
  const int32_t* rows = schedules_[network].at(step);
  const float* x = x_[shape_.dataset[order_[network]]].get();
  const float* y = y_[shape_.dataset[order_[network]]].get();
  for (int r = 0; r < B; r++) {
    const size_t row = static_cast<size_t>(rows[r]);
    std::memcpy(ws.xb.get() + static_cast<size_t>(r) * D, x + row * D, static_cast<size_t>(D) * 4);
    ws.yb[r] = y[row];
  }
}

void Population::advance(int count) {
  if (count <= 0) return;
  const auto t0 = Clock::now();
  const int lowest = lowestTrainable();
  const bool firstWeights = shape_.trainable[0];
  const bool fullBatch = shape_.batchSize == 0;
  const int chunkCap = static_cast<int>(lanes_[0].loss.size());
  std::vector<double> loss(chunkCap), err(chunkCap);
  for (const Chunk& c : chunks_) {
    if (fullBatch) {
      for (int s = 0; s < count; s++) {
        const int step = steps_ + s;
        if (!(s == 0 && gradsAt_ == steps_)) {
          evaluateAll(c, false, lowest, firstWeights, loss.data(), err.data());
          for (int k = 0; k < c.count; k++)
            if (!std::isfinite(loss[k])) markDiverged(c.first + k, step);
        }
        update(c, step);
      }
    } else {
      // Each network draws its own minibatches, so it runs alone on its gathered rows, in lane 0.
      Lane& lane = lanes_[0];
      const int B = shape_.batchSize;
      for (int k = 0; k < c.count; k++) {
        const Chunk one{c.first + k, 1, c.dataset};
        Grads g = populationGrads(one);
        for (int s = 0; s < count; s++) {
          const int step = steps_ + s;
          gatherBatch(one.first, step, *lane.ws);
          const Slice slice{lane.ws->xb.get(), nullptr, 0, lane.ws->yb.get(), B, B};
          evaluate(one, *lane.ws, slice, g, lane.profile, false, lowest, firstWeights, loss.data(), err.data());
          if (!std::isfinite(loss[0])) markDiverged(one.first, step);
          update(one, step);
        }
      }
    }
  }
  steps_ += count;
  gradsAt_ = -1;
  profile_.totalSeconds += since(t0) * (fullBatch ? static_cast<double>(lanes_.size()) : 1.0);
}

void Population::measure(const MeasureOut& out) {
  const auto t0 = Clock::now();
  const int N = shape_.samples, D = inputs_, H1 = shape_.widths[1], L = layers_;
  const bool fullBatch = shape_.batchSize == 0;
  const bool share = out.gradShare != nullptr;
  // Full-batch gradients computed here are the ones the next step needs, so they are kept.
  const int lowest = share ? 0 : fullBatch ? lowestTrainable() : L;
  const bool firstWeights = share || (fullBatch && shape_.trainable[0]);
  const int chunkCap = static_cast<int>(lanes_[0].loss.size());
  std::vector<double> loss(chunkCap), err(chunkCap);
  const int hidden = hiddenUnits();
  for (const Chunk& c : chunks_) {
    // Dead units are tracked (a max per unit in the fused pass) only when they are asked for.
    evaluateAll(c, out.deadUnits != nullptr, lowest, firstWeights, loss.data(), err.data());
    for (int k = 0; k < c.count; k++) {
      const int i = c.first + k;
      const size_t p = order_[i];
      if (!std::isfinite(loss[k])) markDiverged(i, steps_);
      if (out.loss) out.loss[p] = static_cast<float>(loss[k]);
      if (out.error) out.error[p] = static_cast<float>(err[k] / N);
      if (share) gradientShare(gw_[0].get() + static_cast<size_t>(i) * H1 * D, L == 1 ? 1 : H1, D, out.gradShare + p * D);
      if (out.trainOutputs)
        for (const Lane& lane : lanes_)
          std::memcpy(out.trainOutputs + p * N + lane.begin, lane.ws->f.get() + static_cast<size_t>(k) * lane.rows,
                      static_cast<size_t>(lane.rows) * 4);
      if (out.deadUnits && shape_.activation == Activation::Relu) {
        // A unit is dead when it is dead on every lane's samples.
        int offset = 0;
        for (int l = 1; l < L; l++) {
          const int H = shape_.widths[l];
          int dead = 0;
          for (int h = 0; h < H; h++) {
            int32_t all = 1;
            for (const Lane& lane : lanes_) all &= lane.ws->dead[static_cast<size_t>(k) * hidden + offset + h];
            dead += all;
          }
          out.deadUnits[p * (L - 1) + (l - 1)] = static_cast<float>(dead) / static_cast<float>(H);
          offset += H;
        }
      }
    }
  }
  if (fullBatch) gradsAt_ = steps_;
  const int P = shape_.population;
  if (out.paramNorms)
    for (int i = 0; i < P; i++)
      for (int l = 0; l < L; l++) {
        const size_t o = shape_.widths[l + 1], per = o * shape_.widths[l];
        const double s = sumSquares(w_[l].get() + i * per, static_cast<int>(per)) + sumSquares(b_[l].get() + i * o, static_cast<int>(o));
        out.paramNorms[static_cast<size_t>(order_[i]) * L + l] = static_cast<float>(std::sqrt(s));
      }
  if (out.probeOutputs && shape_.probes > 0) {
    const int Q = shape_.probes;
    for (int i = 0; i < P; i++) {
      const float* probes = probes_.get() + static_cast<size_t>(i) * Q * D;
      forward(Chunk{i, 1, 0}, *probeWs_, Slice{probes, nullptr, 0, nullptr, Q, Q}, lanes_[0].profile, false, false);
      std::memcpy(out.probeOutputs + static_cast<size_t>(order_[i]) * Q, probeWs_->f.get(), static_cast<size_t>(Q) * 4);
    }
  }
  profile_.totalSeconds += since(t0) * static_cast<double>(lanes_.size());
}

void Population::divergedAt(int32_t* out) const {
  for (size_t i = 0; i < order_.size(); i++) out[order_[i]] = diverged_[i];
}

void Population::readParams(int layer, float* weights, float* biases) const {
  const size_t out = shape_.widths[layer + 1], per = out * shape_.widths[layer];
  for (size_t i = 0; i < order_.size(); i++) {
    std::memcpy(weights + order_[i] * per, w_[layer].get() + i * per, per * 4);
    std::memcpy(biases + order_[i] * out, b_[layer].get() + i * out, out * 4);
  }
}

}  // namespace dynlab
