// The exact token cost of Pixtral window prompts (pipeline::PromptCoster), computed by the
// prompt builder's own code (inference/prompt.h), so a plan can never disagree with the prompt
// that is built from it. Needs only the config and the tokenizer: dry runs load no weights.
//
//   pixtral::PixtralCoster coster(config, tokenizer, system, context);
//   coster.fixed_tokens();            // BOS [INST] (system + "\n\n") [/INST]: build_prompt's
//   coster.image_tokens(1024, 576);   // image_block_tokens(): 36 rows x (64 + 1)
//   coster.text_tokens("[00:01.0]");  // the tokenizer's encode()
//
// Immutable after construction; every member is const and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pixtral {

class PixtralCoster final : public pipeline::PromptCoster {
 public:
  // `context_tokens` 0 or more than the model's: the model's context.
  PixtralCoster(const inference::ModelConfig& config, inference::Tokenizer tokenizer,
                std::string system, std::int64_t context_tokens);
  std::int64_t text_tokens(std::string_view text) const override;
  // Throws Error(kInvalidArgument) for a size off the model's patch grid.
  std::int64_t image_tokens(int width_px, int height_px) const override;
  std::int64_t fixed_tokens() const override { return fixed_; }
  std::int64_t context_tokens() const override { return context_; }

 private:
  inference::Tokenizer tok_;
  int patch_px_ = 16;
  std::int32_t img_ = 0, img_break_ = 0, img_end_ = 0;
  std::int64_t fixed_ = 0;
  std::int64_t context_ = 0;
};

}  // namespace framescribe::pixtral
