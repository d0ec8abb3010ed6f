// Many callers on one multi-sequence engine, batched step by step (issue 24): continuous
// batching as vLLM, llama.cpp's server slots and TensorRT-LLM's in-flight batching do it.
//
//   auto be = make_batch_engine(config, engine_options, KvCacheOptions{.cache_tokens = 65536});
//   StepScheduler sched(*be, StepSchedulerOptions{.step_tokens = 512});
//   std::unique_ptr<Engine> cam1 = sched.client("cam1");        // an Engine like any other
//   std::unique_ptr<Engine> alerts = sched.client("cam1 alerts", /*priority=*/1);
//   // from any threads, each client from one thread at a time:
//   std::vector<float> logits = cam1->eval(prompt_ids, feats, LogitsMode::kLast);
//   GenerateResult r = generate(*alerts, ...);                  // chat.h, window engines, ...
//
// Each client is an Engine with its own sequence in the shared KV pool; its batch() gives a
// BatchEngine over the same pool whose sequences are the client's (forks for alert questions).
// A client's calls block until their work has run. One scheduler thread drives the engine: each
// step takes the waiting calls of every client, one-token decodes and short spans first, then
// prefill in chunks, up to `step_tokens` rows in all, so a long prefill never stalls the others'
// decodes for more than one step. Order: higher priority first, then the oldest call; a call
// whose prefill spans several steps keeps its place, so prefills run first come, first served.
//
// Memory: admission by free blocks. Calls that do not fit this step wait for the next one. When
// the first call in order cannot fit even alone, sequences of others are preempted: their blocks
// are dropped and the tokens they held (kept by the scheduler, with their image rows) are
// prefilled again when they are next used ("recompute", exact on the CPU engine: chunked ==
// whole). Idle sequences go first (least recently used), then those of the lowest priority and
// the newest call. Only a call that cannot fit in the whole pool fails (Error(kOutOfMemory)),
// alone; a call the engine refuses (context full, bad tokens, image rows) fails alone with the
// engine's error, before anything changes.
//
// Results equal those of each client running alone on its own engine (bit for bit on the CPU
// engine, whose steps are row-independent); only the timing depends on the other clients.
// Vision encoding (encode_images) runs on the scheduler thread between steps.
//
// Thread-safety: clients and stats() from any thread; one thread at a time per client. Clients
// must be destroyed before the scheduler (their sequences are released then); the engine must
// outlive the scheduler and be used only through it meanwhile.
// Errors: as the engine's (above); a client call after the scheduler stopped: Error(kCancelled).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/engine.h"

namespace framescribe::inference {

struct StepSchedulerOptions {
  // Rows (tokens) per engine step, decodes and prefill chunks together. Larger: better
  // throughput for prefill; smaller: shorter decode stalls while another client prefills.
  std::int64_t step_tokens = 512;
  // Spans of at most this many tokens are scheduled before longer prefills (decodes, alert
  // questions after their fork, short follow-ups).
  std::int64_t short_span_tokens = 16;
};

struct StepSchedulerStats {
  std::int64_t steps = 0;           // engine steps run
  std::int64_t rows = 0;            // tokens they evaluated (recompute included)
  std::int64_t max_step_rows = 0;   // the largest step
  std::int64_t max_step_calls = 0;  // the most client calls served by one step
  std::int64_t calls = 0;           // client calls finished (eval, step)
  std::int64_t failed_calls = 0;    // of which failed
  std::int64_t encodes = 0;         // encode_images calls run
  std::int64_t preemptions = 0;     // sequences whose blocks were dropped
  std::int64_t recomputed_tokens = 0;
  std::int64_t clients = 0;  // live now
  double max_wait_s = 0;     // the longest a call waited for its first step
};

class StepScheduler {
 public:
  StepScheduler(BatchEngine& engine, StepSchedulerOptions options = {});
  ~StepScheduler();
  StepScheduler(const StepScheduler&) = delete;
  StepScheduler& operator=(const StepScheduler&) = delete;

  // A new client: an Engine whose backend_name is "scheduled", whose device_name is the engine's,
  // with one (empty) sequence of its own. `name` appears in errors and logs.
  std::unique_ptr<Engine> client(std::string name, int priority = 0);

  StepSchedulerStats stats() const;
  const StepSchedulerOptions& options() const;
  BatchEngine& engine();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace framescribe::inference
