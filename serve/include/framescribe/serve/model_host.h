// The model a server holds: loaded once, shared by every request, used by one request at a time.
//
// EngineGate is the queue in front of the engine: callers wait in arrival order (FIFO), at most
// `max_waiting` of them (more: ApiError::too_busy), a waiter whose `cancelled()` turns true (its
// client went away, its time limit passed) leaves the queue without ever holding the engine.
// Chat requests take the gate for the whole answer; video jobs take it once per window, so a
// long video never blocks chat for more than one window.
//
//   ModelHost& host = ...;
//   auto lease = host.gate.acquire([&] { return client_gone(); });   // blocks; nullopt: cancelled
//   if (!lease) return;
//   run_chat(*host.engine, host.tokenizer, ...);                     // while `lease` lives
//
// Thread-safety: EngineGate is thread-safe. engine (and window_engine) may only be used while
// holding a lease; tokenizer and config are immutable and may be read by any thread.
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

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::serve {

class EngineGate {
 public:
  explicit EngineGate(std::size_t max_waiting = 64) : max_waiting_(max_waiting) {}

  class Lease {  // holds the engine until destroyed
   public:
    Lease(Lease&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    friend class EngineGate;
    explicit Lease(EngineGate* g) : gate_(g) {}
    EngineGate* gate_;
  };

  // Waits in FIFO order for the engine. Throws ApiError::too_busy when max_waiting callers
  // already wait; returns nullopt when cancelled() turns true first (polled every
  // `poll` while waiting) or when the gate is closed (the server drains).
  std::optional<Lease> acquire(const std::function<bool()>& cancelled = {},
                               std::chrono::milliseconds poll = std::chrono::milliseconds(50));
  // New acquire() calls return nullopt; current holders finish.
  void close();
  // Changes the queue's bound (before serving; waiters already queued stay).
  void set_max_waiting(std::size_t n);
  std::size_t waiting() const;  // callers queued now (the /metrics queue depth)
  bool busy() const;            // a lease is held

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::uint64_t> queue_;
  std::uint64_t next_ticket_ = 0;
  bool held_ = false, closed_ = false;
  std::size_t max_waiting_;
};

struct ModelHost {
  std::string name;           // the served model id ("framescribe-demo", "pixtral-12b")
  std::filesystem::path dir;  // the model folder
  inference::ModelConfig config;
  std::unique_ptr<inference::Tokenizer> tokenizer;
  std::unique_ptr<inference::Engine> engine;
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
};

// Fills `host` from a resolved model folder (inference::resolve_model_settings), before anything
// listens, so its errors come first: the name and folder, the config (`choice`: dummy weights
// need no weight file), the tokenizer (checked against the model: check_tokenizer_matches), the
// defaults its framescribe.json recommends (fps, max_edge; `max_tokens` as resolved by the
// caller), the served context (`context` tokens; 0: the model's, at most 128k) and the creation
// time. Throws Error as the loaders.
void prepare_host(ModelHost& host, const inference::ModelSettings& model,
                  const inference::EngineChoice& choice, std::int64_t context, int max_tokens);
// Loads the weights into host.engine with `engine` (its context set to host.context_tokens),
// then sets host.loaded (the server may already listen: /health says 503 until then). A smaller
// engine context than served is warned about. Throws Error as inference::load_engine.
void load_host_engine(ModelHost& host, inference::EngineOptions engine);

}  // namespace framescribe::serve
