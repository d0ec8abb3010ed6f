// Private to inference: the decode loop shared by generate() (engine.h) and run_chat (chat.h),
// so both sample, stop and mask the image token the same way.
//
//   NextToken next(engine, sampling, /*keep_logits=*/want_logprobs);
//   const std::int32_t first = next(prompt_ids, features);   // the prefill
//   StopReason why = sample_loop(engine, next, first, stops, max_tokens, hook);
//
// Rules: greedy sampling (temperature <= 0) whose caller keeps no logits goes through
// Engine::eval_greedy (the CUDA engine picks on the device, 4 bytes come back); every other case
// evaluates kLast logits and samples them on the host with one Sampler. Both give the same token
// (eval_greedy's default is this file's host path; the test EvalGreedy checks it).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/sampling.h"

namespace framescribe::inference {

// One generated token and the logits it was sampled from, as the model gave them (the image
// token not masked); empty when the NextToken keeps no logits and sampling is greedy.
struct SampledToken {
  std::int32_t id = 0;
  std::span<const float> logits;
};

// Evaluates tokens and chooses the next one, never the image token (fed back, an [IMG] would
// need image features that do not exist). Holds the Sampler, so one NextToken serves one
// sequence, from its prompt to its last token.
class NextToken {
 public:
  NextToken(Engine& engine, const SamplingParams& sampling, bool keep_logits);
  // Appends `tokens` (non-empty) to the engine's sequence and returns the next token.
  std::int32_t operator()(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings);
  // The logits of the last call (the model's, image token unmasked); empty on the greedy path.
  std::span<const float> logits() const { return logits_; }
  // Whether calls go through Engine::eval_greedy.
  bool on_device_path() const { return greedy_only_; }

 private:
  Engine& engine_;
  Sampler sampler_;
  bool greedy_only_;
  std::vector<float> logits_;
};

// Called with each generated token (never a stop token); nullopt continues, a reason stops.
using SampleHook = std::function<std::optional<StopReason>(const SampledToken&)>;

// From `first` (what `next` chose after the prompt), generates up to `max_tokens` tokens, feeding
// each back through `next`. Stops at a token of `stops` (kEos, not passed to the hook), after
// `max_tokens` (kMaxTokens), when the hook says so, or when the context is full (kContextFull).
StopReason sample_loop(Engine& engine, NextToken& next, std::int32_t first,
                       std::span<const std::int32_t> stops, int max_tokens,
                       const SampleHook& on_token);

// The host's greedy choice over one logits row: argmax() with the image token's logit taken as
// -inf (Engine::eval_greedy's default and NextToken's rule).
std::int32_t greedy_choice(std::span<float> logits, std::int32_t image_token_id);

}  // namespace framescribe::inference
