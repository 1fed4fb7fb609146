// The N-API face of the population: argument checks, zero-copy views of Float32Arrays, errors.
//
// Why it checks everything again: the TypeScript wrapper checks shapes before every call, but a
// wrong length reaching C++ would read or write out of bounds, so every length is verified here too
// and a mismatch is thrown as an Error with code "SHAPE" (never a crash). The population lives in
// native memory owned by the JS object: `dispose()` frees it at once and the object's finalizer
// frees it when the object is collected, whichever comes first.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "blas-threads.h"
#include "gemm-rate.h"
#include "minibatch.h"
#include "population.h"

namespace dynlab {
namespace {

constexpr int kHyperRows = 8;

// Native bytes held by live populations in this process (all threads), for leak checks.
std::atomic<int64_t> liveBytes{0};  // learningRate, margin, weightDecay, spectral, momentum, beta1, beta2, epsilon

[[noreturn]] void fail(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

[[noreturn]] void shapeError(Napi::Env env, const std::string& message) { fail(env, "SHAPE", message); }

Napi::Object object(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsObject()) shapeError(env, std::string(what) + ": expected an object");
  return v.As<Napi::Object>();
}

int64_t integer(Napi::Env env, const Napi::Object& o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) shapeError(env, std::string(key) + ": expected a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    shapeError(env, std::string(key) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

template <typename Array>
Array typed(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const std::string& what, int64_t length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    shapeError(env, what + ": expected a " + (type == napi_float32_array ? "Float32Array" : type == napi_int32_array ? "Int32Array" : type == napi_uint32_array ? "Uint32Array" : type == napi_float64_array ? "Float64Array" : "Uint8Array"));
  Array a = v.As<Array>();
  if (length >= 0 && static_cast<int64_t>(a.ElementLength()) != length)
    shapeError(env, what + ": expected " + std::to_string(length) + " values, got " + std::to_string(a.ElementLength()));
  return a;
}

Napi::Float32Array floats(Napi::Env env, const Napi::Value& v, const std::string& what, int64_t length) {
  return typed<Napi::Float32Array>(env, v, napi_float32_array, what, length);
}

Napi::Array list(Napi::Env env, const Napi::Object& o, const char* key, uint32_t length) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) shapeError(env, std::string(key) + ": expected an array");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != length)
    shapeError(env, std::string(key) + ": expected " + std::to_string(length) + " entries, got " + std::to_string(a.Length()));
  return a;
}

// Element counts are bounded so that every index fits comfortably in size_t and int arithmetic.
constexpr int64_t kMaxElements = int64_t{1} << 31;

int64_t product(Napi::Env env, std::initializer_list<int64_t> factors, const char* what) {
  int64_t p = 1;
  for (int64_t f : factors) {
    p *= f;
    if (p > kMaxElements) shapeError(env, std::string(what) + ": too large (more than 2^31 values)");
  }
  return p;
}

class PopulationWrap : public Napi::ObjectWrap<PopulationWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Population",
                       {InstanceMethod("advance", &PopulationWrap::Advance), InstanceMethod("measure", &PopulationWrap::Measure),
                        InstanceMethod("divergedAt", &PopulationWrap::DivergedAt),
                        InstanceMethod("readParams", &PopulationWrap::ReadParams),
                        InstanceMethod("stepsDone", &PopulationWrap::StepsDone), InstanceMethod("bytes", &PopulationWrap::Bytes),
                        InstanceMethod("lanes", &PopulationWrap::Lanes),
                        InstanceMethod("profile", &PopulationWrap::GetProfile),
                        InstanceMethod("resetProfile", &PopulationWrap::ResetProfile),
                        InstanceMethod("dispose", &PopulationWrap::Dispose)});
  }

  explicit PopulationWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PopulationWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2) shapeError(env, "Population(config, arrays): expected 2 arguments");
    const Napi::Object cfg = object(env, info[0], "config");
    const Napi::Object arr = object(env, info[1], "arrays");

    Shape s;
    s.population = static_cast<int>(integer(env, cfg, "population", 1, 1 << 20));
    s.samples = static_cast<int>(integer(env, cfg, "samples", 1, 1 << 28));
    Napi::Int32Array widths = typed<Napi::Int32Array>(env, cfg.Get("widths"), napi_int32_array, "widths", -1);
    if (widths.ElementLength() < 2) shapeError(env, "widths: expected at least 2 entries");
    for (size_t l = 0; l < widths.ElementLength(); l++) {
      if (widths[l] < 1 || widths[l] > (1 << 20)) shapeError(env, "widths[" + std::to_string(l) + "]: expected 1 to 2^20");
      s.widths.push_back(widths[l]);
    }
    if (s.widths.back() != 1) shapeError(env, "widths: the output layer must have width 1");
    const int layers = static_cast<int>(s.widths.size()) - 1;
    s.activation = static_cast<Activation>(integer(env, cfg, "activation", 0, 1));
    s.bias = integer(env, cfg, "bias", 0, 1) != 0;
    for (const char* key : {"trainable", "biasTrainable"}) {
      Napi::Uint8Array flags = typed<Napi::Uint8Array>(env, cfg.Get(key), napi_uint8_array, key, layers);
      auto& dst = std::string(key) == "trainable" ? s.trainable : s.biasTrainable;
      for (int l = 0; l < layers; l++) dst.push_back(flags[l] ? 1 : 0);
    }
    s.loss = static_cast<LossKind>(integer(env, cfg, "loss", 0, 2));
    s.meanReduction = integer(env, cfg, "meanReduction", 0, 1) != 0;
    s.optimizer = static_cast<OptimizerKind>(integer(env, cfg, "optimizer", 0, 3));
    s.batchSize = static_cast<int>(integer(env, cfg, "batchSize", 0, s.samples));
    s.probes = static_cast<int>(integer(env, cfg, "probes", 0, 1 << 20));
    s.chunk = static_cast<int>(integer(env, cfg, "chunk", 1, 1 << 16));
    s.threads = static_cast<int>(integer(env, cfg, "threads", 1, 256));
    s.datasets = static_cast<int>(integer(env, cfg, "datasets", 1, s.population));
    Napi::Int32Array dataset = typed<Napi::Int32Array>(env, cfg.Get("dataset"), napi_int32_array, "dataset", s.population);
    for (int p = 0; p < s.population; p++) {
      if (dataset[p] < 0 || dataset[p] >= s.datasets)
        shapeError(env, "dataset[" + std::to_string(p) + "]: expected 0 to " + std::to_string(s.datasets - 1));
      s.dataset.push_back(dataset[p]);
    }

    const int64_t P = s.population, N = s.samples, D = s.widths[0];
    const int64_t xs = product(env, {N, D}, "x");
    Napi::Array x = list(env, arr, "x", s.datasets), y = list(env, arr, "y", s.datasets);
    std::vector<const float*> xp, yp, wp, bp;
    for (int d = 0; d < s.datasets; d++) {
      xp.push_back(floats(env, x.Get(d), "x[" + std::to_string(d) + "]", xs).Data());
      yp.push_back(floats(env, y.Get(d), "y[" + std::to_string(d) + "]", N).Data());
    }
    Napi::Array w = list(env, arr, "weights", layers), b = list(env, arr, "biases", layers);
    for (int l = 0; l < layers; l++) {
      const int64_t out = s.widths[l + 1], in = s.widths[l];
      wp.push_back(floats(env, w.Get(l), "weights[" + std::to_string(l) + "]", product(env, {P, out, in}, "weights")).Data());
      bp.push_back(floats(env, b.Get(l), "biases[" + std::to_string(l) + "]", product(env, {P, out}, "biases")).Data());
    }
    const float* probes = floats(env, arr.Get("probes"), "probes", product(env, {P, s.probes, D}, "probes")).Data();
    Napi::Float64Array hyper = typed<Napi::Float64Array>(env, arr.Get("hyper"), napi_float64_array, "hyper", kHyperRows * P);
    Hyper h;
    std::vector<double>* rows[kHyperRows] = {&h.learningRate, &h.margin, &h.weightDecay, &h.spectral,
                                            &h.momentum,     &h.beta1,  &h.beta2,       &h.epsilon};
    for (int r = 0; r < kHyperRows; r++) rows[r]->assign(hyper.Data() + r * P, hyper.Data() + (r + 1) * P);
    Napi::Uint32Array seeds = typed<Napi::Uint32Array>(env, arr.Get("seeds"), napi_uint32_array, "seeds", P);
    h.seed.assign(seeds.Data(), seeds.Data() + P);
    product(env, {int64_t{s.chunk < s.population ? s.chunk : s.population}, *std::max_element(s.widths.begin(), s.widths.end()), N},
            "activations");

    pop_ = std::make_unique<Population>(std::move(s), std::move(h), xp, yp, wp, bp, probes);
    bytes_ = static_cast<int64_t>(pop_->bytes());
    liveBytes += bytes_;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
  }

  ~PopulationWrap() override { Release(); }

 private:
  Population& live(Napi::Env env) {
    if (!pop_) fail(env, "BACKEND", "the native population was disposed");
    return *pop_;
  }

  void Release() {
    if (!pop_) return;
    pop_.reset();
    liveBytes -= bytes_;
    int64_t ignored;
    napi_adjust_external_memory(Env(), -bytes_, &ignored);
  }

  Napi::Value Advance(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Population& pop = live(env);
    if (info.Length() != 1 || !info[0].IsNumber()) shapeError(env, "advance(count): expected a count");
    const double c = info[0].As<Napi::Number>().DoubleValue();
    if (!(c >= 0 && c <= 1e7) || c != std::floor(c)) shapeError(env, "advance: count must be an integer in [0, 1e7]");
    const int count = static_cast<int>(c);
    pop.advance(count);
    return env.Undefined();
  }

  Napi::Value Measure(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Population& pop = live(env);
    if (info.Length() != 1) shapeError(env, "measure(outputs): expected 1 argument");
    const Napi::Object o = object(env, info[0], "outputs");
    const Shape& s = pop.shape();
    const int64_t P = s.population, L = static_cast<int64_t>(s.widths.size()) - 1;
    auto slot = [&](const char* key, int64_t width) -> float* {
      Napi::Float32Array a = floats(env, o.Get(key), key, -1);
      if (a.ElementLength() == 0) return nullptr;
      const int64_t want = product(env, {P, width}, key);
      if (static_cast<int64_t>(a.ElementLength()) != want)
        shapeError(env, std::string(key) + ": expected " + std::to_string(want) + " values (or none), got " +
                            std::to_string(a.ElementLength()));
      return a.Data();
    };
    MeasureOut out;
    out.loss = slot("loss", 1);
    out.error = slot("error", 1);
    out.gradShare = slot("gradShare", s.widths[0]);
    out.probeOutputs = slot("probeOutputs", s.probes);
    out.trainOutputs = slot("trainOutputs", s.samples);
    out.paramNorms = slot("paramNorms", L);
    out.deadUnits = L > 1 ? slot("deadUnits", L - 1) : nullptr;
    pop.measure(out);
    return env.Undefined();
  }

  Napi::Value DivergedAt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Population& pop = live(env);
    if (info.Length() != 1) shapeError(env, "divergedAt(out): expected 1 argument");
    Napi::Int32Array out = typed<Napi::Int32Array>(env, info[0], napi_int32_array, "divergedAt", pop.shape().population);
    pop.divergedAt(out.Data());
    return env.Undefined();
  }

  Napi::Value ReadParams(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Population& pop = live(env);
    const Shape& s = pop.shape();
    const int layers = static_cast<int>(s.widths.size()) - 1;
    if (info.Length() != 3 || !info[0].IsNumber()) shapeError(env, "readParams(layer, weights, biases): expected 3 arguments");
    const double l = info[0].As<Napi::Number>().DoubleValue();
    if (!(l >= 0 && l < layers) || l != std::floor(l)) shapeError(env, "readParams: layer out of range");
    const int layer = static_cast<int>(l);
    const int64_t P = s.population, out = s.widths[layer + 1], in = s.widths[layer];
    float* w = floats(env, info[1], "weights", P * out * in).Data();
    float* b = floats(env, info[2], "biases", P * out).Data();
    pop.readParams(layer, w, b);
    return env.Undefined();
  }

  Napi::Value StepsDone(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env()).stepsDone()); }

  Napi::Value Lanes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env()).lanes()); }

  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pop_ ? static_cast<double>(bytes_) : 0.0); }

  Napi::Value GetProfile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Profile p = live(env).profile();
    Napi::Object o = Napi::Object::New(env);
    o.Set("totalSeconds", p.totalSeconds);
    o.Set("gemmSeconds", p.gemmSeconds);
    o.Set("updateSeconds", p.updateSeconds);
    o.Set("gemmFlops", p.gemmFlops);
    return o;
  }

  Napi::Value ResetProfile(const Napi::CallbackInfo& info) {
    live(info.Env()).resetProfile();
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  std::unique_ptr<Population> pop_;
  int64_t bytes_ = 0;
};

Napi::Value SetBlasThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) shapeError(env, "setBlasThreads(n): expected a number");
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) shapeError(env, "setBlasThreads: expected 1 to 1024 threads");
  return Napi::String::New(env, setBlasThreads(n));
}

Napi::Value BlasConfig(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), blasConfig()); }

Napi::Value LiveBytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(liveBytes.load())); }

Napi::Value GemmSeconds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) shapeError(env, "gemmSeconds(m, n, k, transB, reps): expected 5 arguments");
  int v[4];
  const int at[4] = {0, 1, 2, 4};
  for (int i = 0; i < 4; i++) {
    if (!info[at[i]].IsNumber()) shapeError(env, "gemmSeconds: expected numbers");
    v[i] = info[at[i]].As<Napi::Number>().Int32Value();
    if (v[i] < 1 || v[i] > 8192) shapeError(env, "gemmSeconds: sizes and reps must be 1 to 8192");
  }
  return Napi::Number::New(env, gemmSeconds(v[0], v[1], v[2], info[3].ToBoolean().Value(), v[3]));
}

// batchRows(seed, samples, batchSize, step, out): the rows of one step's minibatch, as the addon draws them.
Napi::Value BatchRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) shapeError(env, "batchRows(seed, samples, batchSize, step, out): expected 5 arguments");
  double v[4];
  for (int i = 0; i < 4; i++) {
    if (!info[i].IsNumber()) shapeError(env, "batchRows: expected numbers");
    v[i] = info[i].As<Napi::Number>().DoubleValue();
  }
  if (!(v[0] >= 0 && v[0] <= 4294967295.0) || v[0] != std::floor(v[0])) shapeError(env, "batchRows: seed must be a 32-bit unsigned integer");
  if (!(v[1] >= 2 && v[1] <= (1 << 28)) || !(v[2] >= 1 && v[2] < v[1]) || !(v[3] >= 0 && v[3] <= 1e7))
    shapeError(env, "batchRows: expected 1 <= batchSize < samples and 0 <= step <= 1e7");
  const int b = static_cast<int>(v[2]);
  Napi::Int32Array out = typed<Napi::Int32Array>(env, info[4], napi_int32_array, "out", b);
  MinibatchSchedule schedule(static_cast<uint32_t>(v[0]), static_cast<int>(v[1]), b);
  const int32_t* rows = schedule.at(static_cast<int>(v[3]));
  std::copy(rows, rows + b, out.Data());
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Population", PopulationWrap::Define(env));
  exports.Set("setBlasThreads", Napi::Function::New(env, SetBlasThreads));
  exports.Set("blasConfig", Napi::Function::New(env, BlasConfig));
  exports.Set("liveBytes", Napi::Function::New(env, LiveBytes));
  exports.Set("gemmSeconds", Napi::Function::New(env, GemmSeconds));
  exports.Set("batchRows", Napi::Function::New(env, BatchRows));
  exports.Set("hyperRows", Napi::Number::New(env, kHyperRows));
  return exports;
}

}  // namespace
}  // namespace dynlab

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return dynlab::Init(env, exports); }

NODE_API_MODULE(dynlab_native, InitModule)
