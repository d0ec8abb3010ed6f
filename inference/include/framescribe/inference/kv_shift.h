// Planning approximate KV reuse (issue 24, opt-in): given the tokens a sequence holds and the
// prompt wanted next (a sliding window: some frames left, new ones came), which positions to
// shift out (BatchEngine::shift_out), which to keep, and which tokens to append.
//
//   std::vector<TokenKey> old_keys = prompt_token_keys(old_ids, old_frame_keys, cfg);
//   std::vector<TokenKey> new_keys = prompt_token_keys(new_ids, new_frame_keys, cfg);
//   ShiftPlan plan = plan_shift(old_keys, new_keys);
//   apply_shift(batch, seq, plan);           // shift_out(keep, remove_end), truncate(reused())
//   apply_shift(engine, plan);               // or on an Engine's own sequence
//   // then step the new prompt's tokens [plan.reused(), new_ids.size()) with the image rows of
//   // the images that start at or after plan.reused() (image_rows_from() counts them).
//
// Rules:
// - Tokens match when their ids match and, for image tokens ([IMG]), also their image's content
//   key (frame_cache.h's FrameKey) and their index within the image: two frames of the same size
//   never match each other. [IMG_BREAK]/[IMG_END] and text match by id.
// - The plan keeps the longest common prefix exactly (positions 0..keep), then removes
//   [keep, remove_end) of the cached tokens and reuses the longest run cached[remove_end ..
//   remove_end + moved) that equals wanted[keep .. keep + moved); at least the last wanted token
//   is always left to append (its logits are the answer's first). moved == 0 means plain prefix
//   reuse: apply_shift then only truncates (exact).
// - Only the moved run is approximate: its keys are re-rotated, and its deeper layers still saw
//   the removed tokens (batch_engine.h). Opt in only where answers may change (measured in
//   inference/README.md "Approximate reuse").
// - O(old + new) time (a Z-function over the keys). Pure functions; thread-safe.
// Errors: prompt_token_keys throws Error(kInvalidArgument) when the image count does not match
// the prompt's images; apply_shift as BatchEngine::shift_out / truncate (all or nothing for
// the shift; a failed shift leaves the sequence as it was).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/frame_cache.h"

namespace framescribe::inference {

struct TokenKey {
  std::int32_t token = 0;
  std::int32_t index = 0;  // image tokens: the index of the [IMG] within its image; else 0
  FrameKey image;          // image tokens: the image's content key; else {}
  bool operator==(const TokenKey&) const = default;
};

// One key per id. `images`: the content key of each image of the prompt, in prompt order (an
// image ends at its [IMG_END]). Throws kInvalidArgument when the prompt has another number of
// images than `images` holds.
std::vector<TokenKey> prompt_token_keys(std::span<const std::int32_t> ids,
                                        std::span<const FrameKey> images,
                                        const ModelConfig& config);

struct ShiftPlan {
  std::int64_t keep = 0;        // common prefix, kept exactly
  std::int64_t remove_end = 0;  // cached positions [keep, remove_end) are shifted out
  std::int64_t moved = 0;       // cached [remove_end, +moved) become positions [keep, +moved)
  std::int64_t reused() const { return keep + moved; }  // wanted tokens from here are appended
  bool approximate() const { return moved > 0 && remove_end > keep; }
};

ShiftPlan plan_shift(std::span<const TokenKey> cached, std::span<const TokenKey> wanted);

// shift_out(seq, keep, remove_end) when the plan is approximate, then truncate(seq, reused()).
void apply_shift(BatchEngine& engine, SeqId seq, const ShiftPlan& plan);
// The same on a single-sequence engine's own sequence (Engine::shift_out, Engine::truncate).
void apply_shift(Engine& engine, const ShiftPlan& plan);

}  // namespace framescribe::inference
