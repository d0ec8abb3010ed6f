#include "framescribe/inference/kv_shift.h"

#include <algorithm>

#include "framescribe/core/error.h"

namespace framescribe::inference {

std::vector<TokenKey> prompt_token_keys(std::span<const std::int32_t> ids,
                                        std::span<const FrameKey> images,
                                        const ModelConfig& config) {
  std::vector<TokenKey> keys;
  keys.reserve(ids.size());
  std::size_t image = 0;
  std::int32_t index = 0;
  for (std::int32_t id : ids) {
    if (id == config.image_token_id) {
      FS_CHECK(image < images.size(), kInvalidArgument,
               "prompt_token_keys: the prompt has more images than the " << images.size()
                                                                         << " keys given");
      keys.push_back({id, index++, images[image]});
      continue;
    }
    keys.push_back({id, 0, {}});
    if (id == config.image_end_token_id) {
      FS_CHECK(index > 0, kInvalidArgument, "prompt_token_keys: [IMG_END] without an image");
      ++image;
      index = 0;
    }
  }
  FS_CHECK(index == 0, kInvalidArgument, "prompt_token_keys: the prompt ends inside an image");
  FS_CHECK(image == images.size(), kInvalidArgument,
           "prompt_token_keys: the prompt has " << image << " images, " << images.size()
                                                << " keys given");
  return keys;
}

ShiftPlan plan_shift(std::span<const TokenKey> cached, std::span<const TokenKey> wanted) {
  ShiftPlan plan;
  if (wanted.empty()) return plan;
  // At least the last wanted token is evaluated.
  const auto limit = static_cast<std::int64_t>(wanted.size()) - 1;
  const auto n_cached = static_cast<std::int64_t>(cached.size());
  while (plan.keep < limit && plan.keep < n_cached &&
         cached[static_cast<std::size_t>(plan.keep)] == wanted[static_cast<std::size_t>(plan.keep)])
    ++plan.keep;
  plan.remove_end = plan.keep;
  // Z-function of pattern + separator + text, pattern = wanted[keep, limit),
  // text = cached[keep + 1, n_cached): z at a text position = the run of the pattern found there.
  const std::int64_t m = limit - plan.keep;
  if (m <= 0 || plan.keep + 1 >= n_cached) return plan;
  std::vector<const TokenKey*> s;
  for (std::int64_t i = plan.keep; i < limit; ++i)
    s.push_back(&wanted[static_cast<std::size_t>(i)]);
  s.push_back(nullptr);  // matches nothing
  for (std::int64_t i = plan.keep + 1; i < n_cached; ++i)
    s.push_back(&cached[static_cast<std::size_t>(i)]);
  const auto eq = [&](std::size_t a, std::size_t b) {
    return s[a] != nullptr && s[b] != nullptr && *s[a] == *s[b];
  };
  const std::size_t n = s.size();
  std::vector<std::size_t> z(n, 0);
  for (std::size_t i = 1, l = 0, r = 0; i < n; ++i) {
    if (i < r) z[i] = std::min(r - i, z[i - l]);
    while (i + z[i] < n && eq(z[i], i + z[i])) ++z[i];
    if (i + z[i] > r) {
      l = i;
      r = i + z[i];
    }
  }
  for (std::size_t i = static_cast<std::size_t>(m) + 1; i < n; ++i) {
    const auto run = static_cast<std::int64_t>(z[i]);
    if (run > plan.moved) {
      plan.moved = run;
      plan.remove_end = plan.keep + 1 + static_cast<std::int64_t>(i) - (m + 1);
    }
  }
  if (plan.moved == 0) plan.remove_end = plan.keep;
  return plan;
}

void apply_shift(BatchEngine& engine, SeqId seq, const ShiftPlan& plan) {
  if (plan.approximate()) engine.shift_out(seq, plan.keep, plan.remove_end);
  engine.truncate(seq, plan.reused());
}

void apply_shift(Engine& engine, const ShiftPlan& plan) {
  if (plan.approximate()) engine.shift_out(plan.keep, plan.remove_end);
  engine.truncate(plan.reused());
}

void Engine::shift_out(std::int64_t, std::int64_t) {
  FS_FAIL(kUnsupported, "approximate KV reuse (shift_out) is implemented by the CPU engine only ("
                            << backend_name() << "); recompute the window instead");
}

}  // namespace framescribe::inference
