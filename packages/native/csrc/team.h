// A small team of threads that shares out a handful of tasks and waits for them all.
//
// Why: a lone network (P=1) cannot be split over worker threads, and OpenBLAS's own threads split
// its small products poorly (the two products of the canonical workload ran at 153 GFLOP/s on two
// OpenBLAS threads against 129 on one; the same products split over two threads of our own, each
// calling the BLAS on one thread, ran at 211). So a population built with `threads` > 1 splits the
// samples of each chunk into as many slices (tasks): each runs the whole pass (GEMMs and fused
// loops) on its samples into its own gradients, and the caller sums them in slice order, so the
// result does not depend on which thread ran which slice. A step takes a few hundred microseconds,
// so idle members wait spinning (yielding their core after a while, asleep after a few hundred
// microseconds) rather than being woken by the kernel for every pass; and tasks are claimed, not
// assigned, so a member that the kernel has not scheduled yet (the cores are shared with other
// work) leaves its task to the others instead of stalling the step.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dynlab {

class Team {
 public:
  // A team of `size` members: the caller of run() and size - 1 threads started here.
  explicit Team(int size);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  int size() const { return static_cast<int>(helpers_.size()) + 1; }
  // Runs job(0) .. job(tasks - 1) (tasks < 65536), each once, on whichever members claim them (the caller among
  // them); returns when all have returned. An exception thrown by a task is rethrown here.
  void run(int tasks, const std::function<void(int)>& job);

 private:
  void serve();
  // Stops and joins the helper threads (the destructor, and a constructor that failed).
  void stopHelpers();
  // Claims and runs tasks of generation `generation` until none is left.
  void work(uint32_t generation);

  std::vector<std::thread> helpers_;
  const std::function<void(int)>* job_ = nullptr;
  // One word, so that a claim sees them together: the generation (bits 32-63), its task count
  // (16-31) and its next unclaimed task (0-15).
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::exception_ptr error_;
  std::mutex errorMutex_;
};

}  // namespace dynlab
