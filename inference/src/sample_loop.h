// Private to inference: the decode loop shared by generate() (engine.h) and run_chat (chat.h),
// so both sample, stop and mask the image token the same way.
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
// token not masked).
struct SampledToken {
  std::int32_t id = 0;
  std::span<const float> logits;
};

// Called with each generated token (never a stop token); nullopt continues, a reason stops.
using SampleHook = std::function<std::optional<StopReason>(const SampledToken&)>;

// From `logits` (the last prompt token's), samples up to `max_tokens` tokens, feeding each back
// with engine.eval. Stops at a token of `stops` (kEos, not passed to the hook), after
// `max_tokens` (kMaxTokens), when the hook says so, or when the context is full (kContextFull).
// The image token is never sampled: fed back, an [IMG] would need image features that do not
// exist.
StopReason sample_loop(Engine& engine, std::vector<float> logits, const SamplingParams& sampling,
                       std::span<const std::int32_t> stops, int max_tokens,
                       const SampleHook& on_token);

}  // namespace framescribe::inference
