// A stop request shared between a signal handler, the pipeline and the engine loop.
//
//   core::StopFlag stop;                 // owned by main, outlives the run
//   install: on SIGINT -> stop.request(); // async-signal-safe (a lock-free atomic store)
//   if (stop.level() >= core::StopFlag::kFinishWindow) stop reading frames;
//   if (stop.level() >= core::StopFlag::kAbandon) stop generating now;
//
// The first request asks for a clean finish (no new windows, the current one completes); a
// second one abandons the current window. Thread-safe.
#pragma once

#include <atomic>

namespace framescribe::core {

class StopFlag {
 public:
  static constexpr int kRunning = 0;
  static constexpr int kFinishWindow = 1;
  static constexpr int kAbandon = 2;

  // Raises the level by one (capped at kAbandon). Safe in a signal handler.
  void request() noexcept {
    int cur = level_.load(std::memory_order_relaxed);
    while (cur < kAbandon && !level_.compare_exchange_weak(cur, cur + 1)) {
    }
  }
  void request(int level) noexcept {
    int cur = level_.load(std::memory_order_relaxed);
    while (cur < level && !level_.compare_exchange_weak(cur, level)) {
    }
  }
  int level() const noexcept { return level_.load(std::memory_order_acquire); }
  bool stop_requested() const noexcept { return level() != kRunning; }

 private:
  std::atomic<int> level_{kRunning};
  static_assert(std::atomic<int>::is_always_lock_free);
};

}  // namespace framescribe::core
