// The Pixtral engine behind the pipeline's interfaces (pipeline/interfaces.h): prompt costs from
// the tokenizer and the patch grid, frame preprocessing, and windows run through
// inference::generate with the Instruct v3 prompt layout.
//
//   PixtralCoster coster(config, tokenizer, system, context);   // no weights: dry runs
//   PixtralWindowEngine engine(config, tokenizer, std::move(engine_ptr), options);
//   pipeline::VideoPipeline(engine, sinks, opt).run(...);
//
// A window's prompt is one user turn: for each frame its label (text) then its image, then the
// instruction (with the previous window's answer before it when carried). The system prompt,
// if any, goes inside that turn as mistral-common places it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::apps {

class PixtralCoster final : public pipeline::PromptCoster {
 public:
  PixtralCoster(const inference::ModelConfig& config, inference::Tokenizer tokenizer,
                std::string system, std::int64_t context_tokens);
  std::int64_t text_tokens(std::string_view text) const override;
  std::int64_t image_tokens(int width_px, int height_px) const override;
  std::int64_t fixed_tokens() const override { return fixed_; }
  std::int64_t context_tokens() const override { return context_; }

 private:
  inference::Tokenizer tok_;
  int patch_px_ = 16;
  std::int64_t fixed_ = 0;
  std::int64_t context_ = 0;
};

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
  std::shared_ptr<const void> prepare(const core::Frame& frame) const override;
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view previous,
                                  const core::StopFlag& stop) override;
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override;
  // Alert scoring (pipeline/interfaces.h): the window prompt with `question` as its instruction
  // (no carried text), one eval with LogitsMode::kLast after the images are encoded; for each
  // answer its first token (tokenizer encode of the answer; an empty encoding is an error),
  // p_i = softmax(logits)[first_i] computed in double over the whole vocabulary, then
  // p_i / sum_j p_j. Two answers sharing a first token get equal shares of its mass.
  std::vector<double> answer_probabilities(const pipeline::WindowPlan& plan,
                                           std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag& stop) override;
  std::int64_t max_answer_tokens() const override { return opt_.max_answer_tokens; }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override;
  std::string model_name() const override { return opt_.model_name; }

 private:
  inference::Prompt window_prompt(const pipeline::WindowPlan& plan, std::string_view carry) const;
  pipeline::WindowAnswer run(const inference::Prompt& prompt,
                             const std::vector<inference::PixelImage>& images,
                             const core::StopFlag& stop, std::string_view kind, std::int64_t id);

  inference::ModelConfig config_;
  inference::Tokenizer tok_;
  std::unique_ptr<inference::Engine> engine_;
  PixtralWindowOptions opt_;
  PixtralCoster coster_;
};

// 16 hex digits: FNV-1a 64 of the token ids (little-endian int32 bytes).
std::string prompt_hash(const std::vector<int>& ids);

}  // namespace framescribe::apps
