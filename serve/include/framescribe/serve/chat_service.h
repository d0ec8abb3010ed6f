// Runs one ChatRequest on the host's engine: resolves its images (and video parts: frames after
// their timestamp labels, sampled as `summarize` samples), checks that the prompt fits the
// context, waits its turn at the gate, and generates, streaming pieces as they become final.
// Both dialects (OpenAI, Ollama) call it; only the JSON around it differs.
//
//   ChatService service(host, limits);
//   ChatOutcome out = service.run(request, [&](const inference::ChatPiece& p) {
//     return write_sse_chunk(p.text);           // false: the client went away -> stop
//   }, [&] { return client_gone(); });
//   out.result.text; out.result.usage; out.result.logprobs; out.result.stop_reason;
//
// Errors: ApiError with the status and the part at fault (400 bad image or unknown model, 400
// context overflow naming the prompt size and the limit, 413 too large, 429 queue full, 503
// draining, 500 engine failure). Thread-safe: any number of threads may call run(); the gate
// lets `--parallel` of them run at once, each on a slot of its own (model_host.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framescribe/inference/chat.h"
#include "framescribe/serve/chat_request.h"
#include "framescribe/serve/model_host.h"
#include "framescribe/serve/video_part.h"

namespace framescribe::serve {

struct ServeLimits {
  std::int64_t max_body_bytes = 64ll << 20;   // a request body
  std::int64_t max_image_bytes = 20ll << 20;  // one encoded image (any source)
  std::int64_t max_image_pixels = 8192ll * 8192;
  int max_parts = 256;                   // content parts in one request, all messages
  int max_images = 64;                   // image (and video frame) inputs in one request
  int url_timeout_ms = 30'000;           // fetching one image or video URL
  int request_timeout_ms = 600'000;      // a whole request, queue wait included
  std::vector<std::string> allow_paths;  // local image/video files only under these
};

struct ChatOutcome {
  inference::ChatResult result;
  double queue_ms = 0;  // waiting at the gate
  std::string model;    // the served model's name
};

// A request made ready to run: its media resolved and preprocessed (kept alive here: the prompt
// points into them), its prompt built and checked against the context, its options set.
struct PreparedChat {
  std::vector<std::unique_ptr<core::PixelImage>> images;
  std::vector<std::shared_ptr<const core::PixelImage>> frames;
  inference::ChatPrompt prompt;
  inference::ChatOptions options;
  std::chrono::steady_clock::time_point deadline;  // the request's time limit
};

class ChatService {
 public:
  ChatService(ModelHost& host, ServeLimits limits);
  // Throws ApiError. `on_piece` as run_chat's callback; `cancelled` is polled while waiting and
  // between tokens (true: stop, StopReason::kCallback).
  ChatOutcome run(const ChatRequest& request, const inference::ChatCallback& on_piece = {},
                  const std::function<bool()>& cancelled = {});
  // run() in three steps, for callers that answer errors before they start a stream: prepare
  // (throws the 400s, 404, 413, 503 while loading), wait for the engine (throws 429 queue full,
  // 503 draining or timed out, 499 client gone; sets *queue_ms), generate while holding the
  // lease (throws 500).
  std::unique_ptr<PreparedChat> prepare(const ChatRequest& request,
                                        const std::function<bool()>& cancelled = {});
  EngineGate::Lease wait_turn(const PreparedChat& chat, const std::function<bool()>& cancelled,
                              double* queue_ms);
  // Runs on the lease's slot (ModelHost::engine_for); the slot's sequence is emptied after.
  ChatOutcome generate(PreparedChat& chat, const EngineGate::Lease& lease,
                       const inference::ChatCallback& on_piece,
                       const std::function<bool()>& cancelled);
  // Video parts are expanded by `expander` (video_part.h); without one they are answered 400
  // ("video parts are not enabled on this server"). Set before the first run().
  void set_video_expander(VideoExpander expander) { expand_video_ = std::move(expander); }
  // Every request in progress stops at its next check (queue, image, token), as if its client
  // had gone: the server's second Ctrl-C. Irreversible.
  void abandon() { abandoned_.store(true); }
  ModelHost& host() { return host_; }
  const ServeLimits& limits() const { return limits_; }

 private:
  ModelHost& host_;
  ServeLimits limits_;
  VideoExpander expand_video_;
  std::atomic<bool> abandoned_{false};
};

}  // namespace framescribe::serve
