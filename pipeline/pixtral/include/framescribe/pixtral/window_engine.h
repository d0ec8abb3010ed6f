// The Pixtral engine behind the pipeline's interfaces (pipeline/interfaces.h): frame
// preprocessing, window prompts in the Instruct v3 layout, the previous answer carried into the
// next prompt, prompt dumps, and alert scores, all through the request API (inference/chat.h).
//
//   pixtral::PixtralWindowOptions wo;
//   wo.system = "You describe surveillance footage.";
//   pixtral::PixtralWindowEngine engine(config, tokenizer, std::move(engine_ptr), wo);
//   pipeline::VideoPipeline(engine, sinks, opt).run(...);
//
// A window's prompt is one user turn: for each frame its label (text) then its image, then the
// instruction (with the previous window's answer before it when carried). The system prompt,
// if any, goes inside that turn as mistral-common places it. Frames reach the engine by
// reference: the prepared pixels of PreparedFrame are shared, never copied per window.
//
// Threads: prepare() and coster() from any thread; describe(), complete() and
// answer_probabilities() from one thread at a time (they drive the one inference::Engine).
// Errors: a prompt that differs from the packer's plan is Error(kInternal); a prompt that fills
// the context, kInvalidArgument; engine errors pass through.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pixtral/coster.h"

namespace framescribe::pixtral {

struct PixtralWindowOptions {
  std::string system;  // system prompt (empty: none)
  int max_answer_tokens = 512;
  inference::SamplingParams sampling;  // temperature 0: greedy
  std::int64_t context_tokens = 0;     // 0: the engine's
  std::FILE* dump_prompts = nullptr;   // JSONL: one line per prompt (debugging, tests)
  std::string model_name;
};

class PixtralWindowEngine final : public pipeline::WindowEngine {
 public:
  PixtralWindowEngine(const inference::ModelConfig& config, inference::Tokenizer tokenizer,
                      std::unique_ptr<inference::Engine> engine, PixtralWindowOptions options);

  const pipeline::PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& frame) const override;
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view previous,
                                  const core::StopFlag& stop) override;
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override;
  // Alert scoring (pipeline/interfaces.h): the window prompt with `question` as its instruction
  // (no carried text); inference::next_token_probabilities gives the model's distribution after
  // it; for each answer its first token (tokenizer encode of the answer; an empty encoding is
  // an error), p_i = that token's probability / the number of answers sharing it, then
  // p_i / sum_j p_j.
  std::vector<double> answer_probabilities(const pipeline::WindowPlan& plan,
                                           std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag& stop) override;
  std::int64_t max_answer_tokens() const override { return opt_.max_answer_tokens; }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override;
  std::string model_name() const override { return opt_.model_name; }

 private:
  // The window's prompt with its images in prompt order (null where a frame was not prepared).
  inference::ChatPrompt window_prompt(const pipeline::WindowPlan& plan,
                                      std::string_view carry) const;
  pipeline::WindowAnswer run(const inference::ChatPrompt& prompt, const core::StopFlag& stop,
                             std::string_view kind, std::int64_t id);

  inference::ModelConfig config_;
  inference::Tokenizer tok_;
  std::unique_ptr<inference::Engine> engine_;
  PixtralWindowOptions opt_;
  PixtralCoster coster_;
};

}  // namespace framescribe::pixtral
