// One engine shared by several jobs (videos of a batch, streams of a monitor): each job gets a
// client that looks like an engine; calls from all clients are run one at a time on the real
// engine, higher priority first, and in arrival order within a priority (so every client gets
// its turn: no stream or video starves).
//
//   pipeline::EngineScheduler sched(engine);                    // engine outlives sched
//   auto cam1 = sched.client("cam1");                           // priority 0 (descriptions)
//   auto alerts = sched.client("cam1 alerts", /*priority=*/1);  // served before descriptions
//   pipeline::VideoPipeline(*cam1, sinks, opt).run(...);        // from any thread
//
// prepare() and the cost queries are const and thread-safe on the engine, so they are called
// directly, without waiting. Thread-safe; clients must not outlive the scheduler.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pipeline {

class EngineScheduler {
 public:
  explicit EngineScheduler(WindowEngine& engine);
  EngineScheduler(const EngineScheduler&) = delete;
  EngineScheduler& operator=(const EngineScheduler&) = delete;

  std::unique_ptr<WindowEngine> client(std::string name, int priority = 0);

  WindowEngine& engine() { return engine_; }
  // Calls run so far, and the longest any call waited for the engine (seconds).
  std::int64_t calls() const;
  double max_wait_s() const;

  // Blocks until the engine is this caller's; released by the returned guard.
  class Turn {
   public:
    Turn(EngineScheduler& s, int priority);
    ~Turn();
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    EngineScheduler& s_;
  };

 private:
  friend class Turn;
  WindowEngine& engine_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false;
  std::uint64_t next_ticket_ = 0;
  // Waiting tickets per priority: the smallest ticket of the highest priority goes next.
  struct Waiting;
  std::unique_ptr<Waiting> waiting_;
  std::int64_t calls_ = 0;
  double max_wait_s_ = 0;

 public:
  ~EngineScheduler();
};

}  // namespace framescribe::pipeline
