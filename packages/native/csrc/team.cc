// The team of threads; see team.h.
#include "team.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DYNLAB_PAUSE() _mm_pause()
#else
#define DYNLAB_PAUSE() std::this_thread::yield()
#endif

namespace dynlab {

namespace {
using Clock = std::chrono::steady_clock;
// How long a member spins for the next job before it sleeps: longer than the gap between two passes
// of a step (the reduction and the update, a few microseconds) and between two calls from
// JavaScript, short enough that an idle program gives its cores back at once.
constexpr auto kSpin = std::chrono::microseconds(300);
// After this long a waiting thread also yields its core while it spins: when other work shares the
// cores, a member waiting for another may hold the very core the other needs to finish. (With a
// process keeping one of two cores busy, P=1 on two threads ran at 2,400 network-steps/s with the
// yield and 930 without; on idle cores the two were alike, about 5,000.)
constexpr auto kYieldAfter = std::chrono::microseconds(50);

// One round of waiting, `spins` rounds after `start`: a pause, and a yield once waiting is long.
void relax(int spins, Clock::time_point start) {
  DYNLAB_PAUSE();
  if ((spins & 63) == 63 && Clock::now() - start > kYieldAfter) std::this_thread::yield();
}

uint32_t generationOf(uint64_t ticket) { return static_cast<uint32_t>(ticket >> 32); }
int tasksOf(uint64_t ticket) { return static_cast<int>((ticket >> 16) & 0xffffu); }
int nextOf(uint64_t ticket) { return static_cast<int>(ticket & 0xffffu); }
}  // namespace

Team::Team(int size) {
  try {
    for (int t = 1; t < size; t++) helpers_.emplace_back([this] { serve(); });
  } catch (...) {
    // A thread that could not start (a thread limit): the destructor does not run for a
    // constructor that throws, and a started thread left joinable would terminate the process.
    stopHelpers();
    throw;
  }
}

Team::~Team() { stopHelpers(); }

void Team::stopHelpers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_release);
    ticket_.fetch_add(uint64_t{1} << 32, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void Team::work(uint32_t generation) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    // A task is claimed only while its generation is the one this member woke for: a member that
    // wakes late never runs a task of a later run() with the job of an earlier one.
    if (generationOf(t) != generation || nextOf(t) >= tasksOf(t)) return;
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    try {
      (*job_)(nextOf(t));
    } catch (...) {
      std::lock_guard<std::mutex> lock(errorMutex_);
      if (!error_) error_ = std::current_exception();
    }
    done_.fetch_add(1, std::memory_order_acq_rel);
    t = ticket_.load(std::memory_order_acquire);
  }
}

void Team::serve() {
  uint32_t seen = 0;
  for (;;) {
    const auto start = Clock::now();
    uint32_t now = generationOf(ticket_.load(std::memory_order_acquire));
    for (int spins = 0; now == seen; spins++) {
      relax(spins, start);
      if ((spins & 255) == 255 && Clock::now() - start > kSpin) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generationOf(ticket_.load(std::memory_order_acquire)) != seen; });
      }
      now = generationOf(ticket_.load(std::memory_order_acquire));
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    work(seen);
  }
}

void Team::run(int tasks, const std::function<void(int)>& job) {
  if (tasks <= 0) return;
  if (helpers_.empty() || tasks > 0xffff) {
    for (int k = 0; k < tasks; k++) job(k);
    return;
  }
  // No member is inside work() for an earlier generation with a task left to claim: run() returned
  // only when every task of it was done.
  job_ = &job;
  done_.store(0, std::memory_order_relaxed);
  uint32_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t next = (((ticket_.load(std::memory_order_relaxed) >> 32) + 1) << 32) | (static_cast<uint64_t>(tasks) << 16);
    ticket_.store(next, std::memory_order_release);
    generation = generationOf(next);
  }
  wake_.notify_all();
  work(generation);
  const auto start = Clock::now();
  for (int spins = 0; done_.load(std::memory_order_acquire) != tasks; spins++) relax(spins, start);
  job_ = nullptr;
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace dynlab
