// Private to pipeline/pixtral: what the engine's own sequence holds, as the window engine knows
// it (token ids, and for each image block the content key of the image that filled it), and the
// longest prefix of a new prompt that it can keep (prompt-prefix reuse, exact: issue 24).
//
//   HeldSequence held;                                   // empty: nothing known
//   const std::size_t keep = held.reusable(prompt);      // tokens to keep, < prompt.size()
//   held.clear();                                        // before the engine runs (errors)
//   ... run_chat with ChatOptions::keep_prefix = keep ...
//   held.assign(prompt, prompt.prompt.ids.size());       // after it succeeded
//
// Rules: a token is kept only when every token before it and it have the same id and every
// image block before it (or holding it) was filled by an image with the same content key
// (inference::frame_key: size and pixels), never by equal ids alone; at least the prompt's last
// token is left to evaluate (its logits are needed). The caller clears it whenever the engine's
// sequence may differ (any error, a truncate elsewhere) and checks that the engine holds at least
// size() tokens before reusing. The image keys reusable() computed serve the next assign() of
// the same prompt object (clear() in between keeps them): each image is hashed once per call.
// Approximate reuse (opt-in) plans a shift from keys() to prompt_keys() (inference/kv_shift.h's
// TokenKeys: ids, and for image tokens the image's content key and index within it).
// Thread-safety: none. Errors: none (bad prompts are 0 reuse), except keys() / prompt_keys():
// Error(kInvalidArgument) as inference::prompt_token_keys (a sequence or prompt part that ends
// inside an image, an image without pixels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "framescribe/inference/chat.h"
#include "framescribe/inference/frame_cache.h"
#include "framescribe/inference/kv_shift.h"
#include "framescribe/inference/model_config.h"

namespace framescribe::pixtral {

class HeldSequence {
 public:
  // The longest prefix of `prompt` this sequence holds, at most prompt size - 1.
  std::size_t reusable(const inference::ChatPrompt& prompt) const;
  // The sequence now holds prompt's first `n_tokens` tokens (and the images they reach).
  void assign(const inference::ChatPrompt& prompt, std::size_t n_tokens);
  void clear();
  std::size_t size() const { return ids_.size(); }
  // What the sequence holds, as kv_shift.h's keys.
  std::vector<inference::TokenKey> keys(const inference::ModelConfig& config) const;
  // The keys of prompt's first `n_tokens` tokens (its image keys memoised as reusable()'s).
  std::vector<inference::TokenKey> prompt_keys(const inference::ChatPrompt& prompt,
                                               std::size_t n_tokens,
                                               const inference::ModelConfig& config) const;

 private:
  struct Image {
    std::size_t first_token = 0, n_tokens = 0;
    inference::FrameKey key;
  };
  inference::FrameKey key_of(const inference::PixelImage* image) const;
  std::vector<std::int32_t> ids_;
  std::vector<Image> images_;  // in prompt order
  // Keys of the prompt reusable() last looked at (memo_for_), by image address: used only by an
  // assign() of that same prompt, then dropped (an address may hold another image later).
  mutable std::vector<std::pair<const inference::PixelImage*, inference::FrameKey>> memo_;
  mutable const inference::ChatPrompt* memo_for_ = nullptr;
};

}  // namespace framescribe::pixtral
