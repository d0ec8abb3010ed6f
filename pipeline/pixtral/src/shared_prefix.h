// Private to pipeline/pixtral: the next-token distributions of several prompts that begin alike
// (a window's alert questions), on a multi-sequence engine (inference/batch_engine.h): the
// tokens they share are prefilled once in one sequence, each prompt forks it and appends only
// its own remaining tokens, and one step reads every prompt's last logits row.
//
//   const std::size_t n = shared_prefix_tokens(prompts);    // from the built ids, no layout
//   assumed std::optional<ForkedScores> r = forked_next_token_probabilities(*be, prompts, features,
//   img); if (!r) { /* the KV pool cannot hold them: score the prompts one by one */ }
//
// Rules: on the CPU engine the result equals next_token_probabilities of each prompt on its own
// bit for bit (fork + eval == fresh eval, chunked == whole). The prefix stops before the first
// token where any two prompts differ, before the first image whose pixels are not the same
// object in every prompt, and one token before the shortest prompt's end (every prompt keeps a
// token of its own to read its row from). Every sequence made is released, on errors too.
// Thread-safety: none (drives the engine). Errors: the engine's (bad requests before anything
// changes); a pool too small for the prompts is not an error but std::nullopt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/chat.h"

namespace framescribe::pixtral {

// Tokens every prompt shares at its start (see the rules above); 0 for fewer than one prompt.
std::size_t shared_prefix_tokens(std::span<const inference::ChatPrompt> prompts);

struct ForkedScores {
  std::vector<std::vector<double>> probs;  // per prompt: softmax of its last logits (double)
  std::int64_t prefix_tokens = 0;          // prefilled once
  std::int64_t prefilled_tokens = 0;       // in all: the prefix and every prompt's own tokens
};

// `features[k]`: prompt k's image rows in prompt order ([image tokens, n_embd]), e.g. from
// inference::encode_prompt_images. std::nullopt (nothing left behind) when the engine's free
// KV blocks cannot hold the prefix and every prompt's own tokens at once.
std::optional<ForkedScores> forked_next_token_probabilities(
    inference::BatchEngine& engine, std::span<const inference::ChatPrompt> prompts,
    std::span<const std::vector<float>* const> features, std::int32_t image_token_id);

}  // namespace framescribe::pixtral
