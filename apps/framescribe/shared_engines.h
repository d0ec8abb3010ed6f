// The engines of the commands that run several streams or videos at once (monitor's streams,
// batch --parallel's workers): one model, loaded once, and a window engine per user of it.
//
//   SharedEngines pool(model_dir, choice, engine_options, window_options,
//                      {.clients = 4, .step_tokens = 512});
//   pipeline::WindowEngine& cam1 = pool.engine("cam1");   // one per stream / worker
//   ... each used from one thread at a time; then:
//   pixtral::PixtralEngineStats reuse = pool.reuse_stats();            // summed over engines
//   std::optional<inference::StepSchedulerStats> s = pool.scheduler_stats();
//
// Two ways to share (issue 24), chosen at construction:
// - batched (step_tokens > 0 and the device has a multi-sequence engine, i.e. the CPU):
//   pixtral::SharedModel; every engine() is a PixtralWindowEngine of its own (its own prompt
//   prefix, frame cache and reuse counters) whose inference::Engine is a client of one
//   inference::StepScheduler, so the clients' work runs in batched engine steps of at most
//   step_tokens rows (continuous batching): nobody waits for another's whole window.
// - one call at a time (step_tokens == 0, or CUDA: SharedModel::load gives nothing there): one
//   PixtralWindowEngine shared through pipeline::EngineScheduler; every engine() is a client of
//   it with the priority given (higher first), each call runs alone.
// Answers are the same either way (bit for bit on the CPU engine); only the timing differs.
//
// Memory: batched, the KV pool is sized for `clients` sequences of the window context (CPU:
// taken as used); more engines than `clients` still work (the scheduler preempts and
// recomputes). Each batched engine keeps its own frame cache (PixtralWindowOptions bounds it).
// Thread-safety: engine(), the stats and batched() from any thread; the engines are owned by the
// pool and valid until it is destroyed. Errors: as pixtral::load_window_engine's; a
// step_tokens < 0 or clients < 1 is Error(kInvalidArgument).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/step_scheduler.h"
#include "framescribe/pipeline/engine_scheduler.h"
#include "framescribe/pixtral/shared_model.h"
#include "framescribe/pixtral/window_engine.h"

namespace framescribe::apps {

struct SharedEnginesOptions {
  int clients = 1;  // streams or parallel workers the engine is sized for
  // Rows per batched engine step (--step-tokens); 0: one whole call at a time.
  std::int64_t step_tokens = inference::StepSchedulerOptions{}.step_tokens;
};

class SharedEngines {
 public:
  SharedEngines(const std::string& model_dir, const inference::EngineChoice& choice,
                const inference::EngineOptions& engine, const pixtral::PixtralWindowOptions& window,
                const SharedEnginesOptions& options);
  ~SharedEngines();
  SharedEngines(const SharedEngines&) = delete;
  SharedEngines& operator=(const SharedEngines&) = delete;

  // A new engine for one stream or worker. `priority` orders the calls of the one-at-a-time
  // sharing (higher first); batched engines all have priority 0 (each call is split into steps
  // anyway, so a short call never waits behind a whole long one).
  pipeline::WindowEngine& engine(const std::string& name, int priority = 0);
  bool batched() const { return shared_ != nullptr; }
  // The reuse counters of every engine made, summed (one-at-a-time: the one engine's).
  pixtral::PixtralEngineStats reuse_stats() const;
  // The step scheduler's counters; nullopt when not batched.
  std::optional<inference::StepSchedulerStats> scheduler_stats() const;

 private:
  pixtral::PixtralWindowOptions window_;
  std::unique_ptr<pixtral::SharedModel> shared_;
  std::unique_ptr<pixtral::PixtralWindowEngine> single_;
  std::unique_ptr<pipeline::EngineScheduler> calls_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<pixtral::PixtralWindowEngine>> engines_;  // batched
  std::vector<std::unique_ptr<pipeline::WindowEngine>> clients_;        // one at a time
};

// "12 steps, 310.5 rows a step (at most 512 rows, 3 calls), 0 preemptions, 0 tokens
// recomputed" (logs and monitor's status line): calls = the most client calls one step served.
std::string scheduler_line(const inference::StepSchedulerStats& s);

}  // namespace framescribe::apps
