// StepScheduler's state (step_scheduler.h): sequences with the log of what they hold, the calls
// waiting, and the planning of a step. Internal to step_scheduler*.cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/inference/step_scheduler.h"

namespace framescribe::inference {

using SchedClock = std::chrono::steady_clock;

struct SchedClient {
  std::string name;
  int priority = 0;
  SeqId own = 0;
  std::set<SeqId> seqs;  // every sequence of this client, own included
};

// A sequence as its client sees it: `tokens` (and the image rows of its image tokens) are every
// position it holds; the engine holds the first `held` of them (fewer after a preemption, until
// they are prefilled again).
struct SchedSeq {
  SchedClient* owner = nullptr;
  std::vector<std::int32_t> tokens;
  std::vector<float> rows;
  std::int64_t held = 0, held_rows = 0;
  std::uint64_t last_used = 0;  // step number
  std::int64_t length() const { return static_cast<std::int64_t>(tokens.size()); }
};

// One span of a call, with its progress.
struct SchedPart {
  SeqId seq = 0;
  std::span<const std::int32_t> tokens;
  std::span<const float> rows;
  LogitsMode mode = LogitsMode::kNone;
  std::int64_t done = 0, rows_done = 0;
  std::int64_t start_length = 0;  // the sequence's length at submission (undo on failure)
  std::vector<float> logits;
  std::int64_t remaining() const { return static_cast<std::int64_t>(tokens.size()) - done; }
};

struct SchedCall {
  SchedClient* client = nullptr;
  std::uint64_t ticket = 0;
  bool encode = false;
  std::span<const PixelImage* const> images;  // encode
  std::vector<float> encoded;
  std::vector<SchedPart> parts;  // step
  StepResult result;
  std::exception_ptr error;
  bool done = false, started = false;
  SchedClock::time_point submitted;
};

// What one step runs for one part: a recompute of the log, or the next tokens of the call.
struct SchedChunk {
  SchedCall* call = nullptr;
  std::size_t part = 0;
  bool recompute = false;
  std::int64_t n = 0, n_rows = 0;
  StepSpan span;
};

class StepScheduler::Impl {
 public:
  Impl(BatchEngine& engine, StepSchedulerOptions options);
  ~Impl();

  // Client side (any thread).
  SchedClient* add_client(std::string name, int priority);
  void remove_client(SchedClient* c);
  StepResult run(SchedClient* c, std::span<const StepSpan> spans);
  std::vector<float> encode(SchedClient* c, std::span<const PixelImage* const> images);
  SeqId create(SchedClient* c);
  SeqId fork(SchedClient* c, SeqId src);
  void truncate(SchedClient* c, SeqId seq, std::int64_t n);
  void release(SchedClient* c, SeqId seq);
  void shift_out(SchedClient* c, SeqId seq, std::int64_t begin, std::int64_t end);
  std::int64_t shift_blocks_needed(SchedClient* c, SeqId seq, std::int64_t begin, std::int64_t end);
  std::int64_t length(SchedClient* c, SeqId seq);
  KvStats kv_stats(SchedClient* c);
  std::int64_t blocks_needed(SchedClient* c, std::span<const StepSpan> spans);
  MemoryUse memory_use();
  StepSchedulerStats stats() const;

  BatchEngine& engine_;
  const StepSchedulerOptions opt_;

 private:
  void loop();
  SchedSeq& owned(SchedClient* c, SeqId seq);              // mu_ held
  void finish(SchedCall* call, std::exception_ptr error);  // mu_ held
  // One step: plan, run, hand out the rows. Called with both locks held.
  void run_step(std::unique_lock<std::mutex>& lock, std::vector<SchedCall*> calls);
  std::vector<SchedChunk> plan(SchedCall* call, std::int64_t budget);
  // Preempts other sequences until `spans` (the call's) fit; false if they never can.
  bool make_room(SchedCall* call, std::vector<StepSpan> spans);
  void cut(SeqId id, SchedSeq& s, std::int64_t n);  // truncates log and engine; locks held
  void run_chunks(std::unique_lock<std::mutex>& lock, std::vector<SchedChunk>& chunks);
  void undo(SchedCall* call);  // truncates the call's sequences back to their start; mu_ held

  std::mutex engine_mu_;  // the engine (taken before mu_)
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  bool stopping_ = false;
  std::deque<SchedCall*> calls_;
  std::map<SeqId, SchedSeq> seqs_;
  std::set<SchedClient*> clients_;
  std::uint64_t next_ticket_ = 0, step_no_ = 0;
  StepSchedulerStats stats_;
  std::thread thread_;
};

}  // namespace framescribe::inference
