#include "video_engine.h"

#include <chrono>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/pixtral/shared_model.h"
#include "framescribe/serve/api_error.h"

namespace framescribe::serve {
namespace {

// The host's engine, not owned: every call goes to it.
class BorrowedEngine final : public inference::Engine {
 public:
  explicit BorrowedEngine(inference::Engine& e) : e_(e) {}
  const inference::ModelConfig& config() const override { return e_.config(); }
  std::string_view backend_name() const override { return e_.backend_name(); }
  std::string device_name() const override { return e_.device_name(); }
  inference::MemoryUse memory_use() const override { return e_.memory_use(); }
  std::vector<float> encode_images(std::span<const inference::PixelImage* const> images) override {
    return e_.encode_images(images);
  }
  std::vector<float> eval(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings,
                          inference::LogitsMode mode) override {
    return e_.eval(tokens, image_embeddings, mode);
  }
  std::int32_t eval_greedy(std::span<const std::int32_t> tokens,
                           std::span<const float> image_embeddings) override {
    return e_.eval_greedy(tokens, image_embeddings);
  }
  std::int64_t n_past() const override { return e_.n_past(); }
  std::int64_t max_context() const override { return e_.max_context(); }
  void truncate(std::int64_t n_tokens) override { e_.truncate(n_tokens); }

 private:
  inference::Engine& e_;
};

}  // namespace

std::unique_ptr<pixtral::PixtralWindowEngine> make_host_window_engine(
    ModelHost& host, pixtral::PixtralWindowOptions options, const std::string& client_name) {
  if (!host.loaded.load() || (host.engine == nullptr && !host.shared) || host.tokenizer == nullptr)
    throw ApiError::unavailable("the model is still loading; retry in a moment");
  if (options.model_name.empty()) options.model_name = host.name;
  if (host.batched()) return host.shared->window_engine(client_name, 0, std::move(options));
  return std::make_unique<pixtral::PixtralWindowEngine>(
      host.config, *host.tokenizer, std::make_unique<BorrowedEngine>(*host.engine),
      std::move(options));
}

bool GatedWindowEngine::may_run(std::optional<EngineGate::Lease>& held) {
  if (!lease_per_window_) {
    if (stop_.stop_requested()) return false;
    FS_CHECK(!gate_.closed(), kCancelled,
             "the server is shutting down: the engine takes no more windows");
    return true;
  }
  for (;;) {
    try {
      auto l = gate_.acquire([this] { return stop_.stop_requested(); });
      if (l) {
        held.emplace(std::move(*l));
        ++leases_;
      } else if (!stop_.stop_requested()) {
        // The gate closed (the server drains): no window runs any more. An error, so that the
        // run ends failed rather than "complete" with every window dropped.
        FS_FAIL(kCancelled, "the server is shutting down: the engine takes no more windows");
      }
      return held.has_value();
    } catch (const ApiError&) {  // the queue is full: chat requests wait; try again soon
      if (stop_.stop_requested()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

pipeline::WindowAnswer GatedWindowEngine::describe(const pipeline::WindowPlan& plan,
                                                   std::string_view previous,
                                                   const core::StopFlag& stop) {
  std::optional<EngineGate::Lease> held;
  if (!may_run(held)) {
    pipeline::WindowAnswer a;
    a.abandoned = true;
    return a;
  }
  return inner_.describe(plan, previous, stop);
}

pipeline::WindowAnswer GatedWindowEngine::complete(std::string_view prompt,
                                                   const core::StopFlag& stop) {
  std::optional<EngineGate::Lease> held;
  if (!may_run(held)) {
    pipeline::WindowAnswer a;
    a.abandoned = true;
    return a;
  }
  return inner_.complete(prompt, stop);
}

std::vector<double> GatedWindowEngine::answer_probabilities(const pipeline::WindowPlan& plan,
                                                            std::string_view question,
                                                            std::span<const std::string> answers,
                                                            const core::StopFlag& stop) {
  std::optional<EngineGate::Lease> held;
  FS_CHECK(may_run(held), kCancelled, "stopped while waiting for the engine");  // (stop)
  return inner_.answer_probabilities(plan, question, answers, stop);
}

}  // namespace framescribe::serve
