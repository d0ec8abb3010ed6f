// The server's model behind the pipeline's WindowEngine, for video parts and jobs.
//
//   auto pixtral = make_host_window_engine(host, window_options, "video job 3");
//   GatedWindowEngine gated(*pixtral, host.gate, stop, /*lease_per_window=*/!host.batched());
//   pipeline::VideoPipeline(gated, sinks, options).run(source, info, stop);
//
// Rules: with one slot (model_host.h) the PixtralWindowEngine made here borrows
// ModelHost::engine (it never owns or frees it) and may only run while its caller holds the
// gate; GatedWindowEngine then takes the gate in describe(), complete() and
// answer_probabilities() and gives it back when they return, so chat requests interleave
// between windows. With N slots (host.batched()) it is a scheduler client of its own, named
// `client_name`, priority 0 (below the chat slots' 1: chat decodes go first), whose windows are
// batched with the chat requests' steps; it must not take the gate (lease_per_window false) and
// must be destroyed before the host. While waiting for a lease it polls `stop`: a stop request
// makes the waiting window an abandoned one (never run). A closed gate (the server drains)
// throws Error(kCancelled) in both modes, so the run ends failed, never "complete" with its
// windows dropped. A full gate queue is retried every 200 ms until the lease comes or `stop`
// is raised.
// Thread-safety: prepare() and coster() from any thread; the rest from one thread at a time
// (the pipeline's engine node). Errors: the wrapped engine's.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/stop.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pixtral/window_engine.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

// A PixtralWindowEngine over the host's config, tokenizer and engine (borrowed), or a scheduler
// client of its own with N slots. Throws ApiError 503 while the model loads.
std::unique_ptr<pixtral::PixtralWindowEngine> make_host_window_engine(
    ModelHost& host, pixtral::PixtralWindowOptions options,
    const std::string& client_name = "video");

class GatedWindowEngine final : public pipeline::WindowEngine {
 public:
  // All three must outlive this object.
  GatedWindowEngine(pipeline::WindowEngine& inner, EngineGate& gate, const core::StopFlag& stop,
                    bool lease_per_window = true)
      : inner_(inner), gate_(gate), stop_(stop), lease_per_window_(lease_per_window) {}
  const pipeline::PromptCoster& coster() const override { return inner_.coster(); }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& frame) const override {
    return inner_.prepare(frame);
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view previous,
                                  const core::StopFlag& stop) override;
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override;
  std::vector<double> answer_probabilities(const pipeline::WindowPlan& plan,
                                           std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag& stop) override;
  std::int64_t max_answer_tokens() const override { return inner_.max_answer_tokens(); }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override {
    return inner_.text_prompt_tokens(prompt);
  }
  std::string model_name() const override { return inner_.model_name(); }
  // Leases taken so far (windows and summary passes that ran; 0 without lease_per_window).
  std::int64_t leases() const { return leases_; }

 private:
  // false: abandon the window (stop requested while waiting). Throws when the gate closed.
  bool may_run(std::optional<EngineGate::Lease>& held);
  pipeline::WindowEngine& inner_;
  EngineGate& gate_;
  const core::StopFlag& stop_;
  bool lease_per_window_;
  std::int64_t leases_ = 0;
};

}  // namespace framescribe::serve
