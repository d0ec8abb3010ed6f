// The server's one engine behind the pipeline's WindowEngine, for video parts and jobs.
//
//   auto pixtral = make_host_window_engine(host, window_options);   // borrows host.engine
//   GatedWindowEngine gated(*pixtral, host.gate, stop);             // a lease per window
//   pipeline::VideoPipeline(gated, sinks, options).run(source, info, stop);
//
// Rules: the PixtralWindowEngine made here borrows ModelHost::engine (it never owns or frees
// it) and may only run while its caller holds the gate. GatedWindowEngine takes the gate in
// describe(), complete() and answer_probabilities() and gives it back when they return, so
// chat requests interleave between windows. While waiting it polls `stop`: a stop request makes
// the waiting window an abandoned one (never run); a closed gate (the server drains) throws
// Error(kCancelled), so the run ends failed, never "complete" with its windows dropped. A full
// gate queue is retried every 200 ms until the lease comes or `stop` is raised.
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

// A PixtralWindowEngine over the host's config, tokenizer and engine (borrowed).
std::unique_ptr<pixtral::PixtralWindowEngine> make_host_window_engine(
    ModelHost& host, pixtral::PixtralWindowOptions options);

class GatedWindowEngine final : public pipeline::WindowEngine {
 public:
  // All three must outlive this object.
  GatedWindowEngine(pipeline::WindowEngine& inner, EngineGate& gate, const core::StopFlag& stop)
      : inner_(inner), gate_(gate), stop_(stop) {}
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
  // Leases taken so far (windows and summary passes that ran).
  std::int64_t leases() const { return leases_; }

 private:
  std::optional<EngineGate::Lease> lease();
  pipeline::WindowEngine& inner_;
  EngineGate& gate_;
  const core::StopFlag& stop_;
  std::int64_t leases_ = 0;
};

}  // namespace framescribe::serve
