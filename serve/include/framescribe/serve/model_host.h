// The model a server holds: loaded once, shared by every request, run for `slots` requests at
// once (serve --parallel N).
//
// EngineGate is the queue in front of the engine's slots: callers wait in arrival order (FIFO),
// at most `max_waiting` of them (more: ApiError::too_busy), a waiter whose `cancelled()` turns
// true (its client went away, its time limit passed) leaves the queue without ever holding a
// slot. A lease names its slot (0 .. slots-1); chat requests hold one for the whole answer.
//
// Two ways to hold the model (load_host_engine):
// - one slot (--parallel 1, and every device without a multi-sequence engine: CUDA): `engine`,
//   one sequence, used by one request at a time; video jobs take the gate once per window, so a
//   long video never blocks chat for more than one window.
// - N slots (CPU, --parallel N > 1): `shared` (pixtral::SharedModel: one multi-sequence engine
//   and its StepScheduler) and `slots`, N scheduler clients reused by the requests: the lease of
//   slot k runs on slots[k]; the scheduler batches the N requests' work step by step (results
//   bit for bit those of each alone, on the CPU engine). Video jobs get a scheduler client of
//   their own (video_engine.h) and never take the gate.
//
//   ModelHost& host = ...;
//   auto lease = host.gate.acquire([&] { return client_gone(); });   // blocks; nullopt: cancelled
//   if (!lease) return;
//   run_chat(host.engine_for(*lease), *host.tokenizer, ...);         // while `lease` lives
//
// Thread-safety: EngineGate is thread-safe. engine_for(lease) may only be used while holding
// the lease (one request per slot); tokenizer and config are immutable and may be read by any
// thread; `shared`, `engine` and `slots` are set once by load_host_engine before `loaded`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/step_scheduler.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::pixtral {
class SharedModel;  // pixtral/shared_model.h (serve links pixtral privately)
}

namespace framescribe::serve {

class EngineGate {
 public:
  explicit EngineGate(std::size_t max_waiting = 64, int slots = 1);

  class Lease {  // holds one slot until destroyed
   public:
    Lease(Lease&& o) noexcept : gate_(o.gate_), slot_(o.slot_) { o.gate_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    int slot() const { return slot_; }  // 0 .. slots()-1

   private:
    friend class EngineGate;
    Lease(EngineGate* g, int slot) : gate_(g), slot_(slot) {}
    EngineGate* gate_;
    int slot_;
  };

  // Waits in FIFO order for a free slot (the lowest free one). Throws ApiError::too_busy when
  // max_waiting callers already wait; returns nullopt when cancelled() turns true first (polled
  // every `poll` while waiting) or when the gate is closed (the server drains).
  std::optional<Lease> acquire(const std::function<bool()>& cancelled = {},
                               std::chrono::milliseconds poll = std::chrono::milliseconds(50));
  // New acquire() calls return nullopt; current holders finish.
  void close();
  // Changes the queue's bound (before serving; waiters already queued stay).
  void set_max_waiting(std::size_t n);
  // Changes the number of slots (>= 1; before serving, while no lease is held).
  void set_slots(int n);
  int slots() const;
  std::size_t waiting() const;  // callers queued now (the /metrics queue depth)
  int running() const;          // leases held now
  bool busy() const { return running() > 0; }
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::uint64_t> queue_;
  std::uint64_t next_ticket_ = 0;
  std::vector<bool> held_;  // per slot
  int running_ = 0;
  bool closed_ = false;
  std::size_t max_waiting_;
};

struct ModelHost {
  ModelHost();
  ~ModelHost();
  std::string name;           // the served model id ("framescribe-demo", "pixtral-12b")
  std::filesystem::path dir;  // the model folder
  inference::ModelConfig config;
  std::unique_ptr<inference::Tokenizer> tokenizer;
  inference::EngineChoice choice;  // device and load format (prepare_host)
  // One slot: the engine. N slots: the shared model and its N clients (declared after it:
  // clients are destroyed first).
  std::unique_ptr<inference::Engine> engine;
  std::unique_ptr<pixtral::SharedModel> shared;
  std::vector<std::unique_ptr<inference::Engine>> slots;
  std::int64_t context_tokens = 0;  // max_model_len: the engine's context
  int default_max_tokens = 512;     // from framescribe.json or the commands' default
  double default_fps = 1.0;         // video parts and jobs: framescribe.json or 1
  int default_max_edge = 512;
  int image_max_edge = 0;           // images: longest edge in pixels (0: the model's image size)
  std::int64_t created_unix_s = 0;  // /v1/models "created", Ollama modified_at
  EngineGate gate;
  // Set once `engine` is loaded (the server listens before: /health answers 503 until then).
  std::atomic<bool> loaded{false};

  // Whether `requested` names this model: its name, its folder's name, either with an Ollama
  // tag (":latest"); an empty name means the served model.
  bool serves(const std::string& requested) const;
  // The engine a lease of `gate` runs on: slots[lease.slot()], or `engine` with one slot.
  inference::Engine& engine_for(const EngineGate::Lease& lease);
  int parallel() const { return gate.slots(); }
  bool batched() const { return !slots.empty(); }  // N slots on the step scheduler
  // The scheduler's counters with N slots; nullopt with one slot.
  std::optional<inference::StepSchedulerStats> scheduler_stats() const;
};

// Fills `host` from a resolved model folder (inference::resolve_model_settings), before anything
// listens, so its errors come first: the name and folder, the config (`choice`: dummy weights
// need no weight file), the tokenizer (checked against the model: check_tokenizer_matches), the
// defaults its framescribe.json recommends (fps, max_edge; `max_tokens` as resolved by the
// caller), the served context (`context` tokens; 0: the model's, at most 128k) and the creation
// time. Throws Error as the loaders.
void prepare_host(ModelHost& host, const inference::ModelSettings& model,
                  const inference::EngineChoice& choice, std::int64_t context, int max_tokens);
// Loads the weights with `engine` (its context set to host.context_tokens), then sets
// host.loaded (the server may already listen: /health says 503 until then). `parallel` 1: into
// host.engine. `parallel` N > 1: a SharedModel whose KV pool is sized for N + 1 sequences of the
// context (the N slots and one video job; CPU storage is taken as blocks are first used) and N
// slot clients, batched in steps of at most `step_tokens` rows; where the device has no
// multi-sequence engine (CUDA) it warns and serves one request at a time (host.engine, one
// slot); `step_tokens` 0 means the same (one request at a time). Sets the gate's slots. A
// smaller engine context than served is warned about. Throws Error as inference::load_engine;
// kInvalidArgument for parallel < 1 or step_tokens < 0.
void load_host_engine(ModelHost& host, inference::EngineOptions engine, int parallel = 1,
                      std::int64_t step_tokens = inference::StepSchedulerOptions{}.step_tokens);

}  // namespace framescribe::serve
