#include "framescribe/inference/sampling.h"

#include <algorithm>
#include <cmath>

#include "framescribe/core/error.h"

namespace framescribe::inference {

std::int32_t argmax(std::span<const float> logits) {
  FS_CHECK(!logits.empty(), kInvalidArgument, "argmax of an empty logits vector");
  std::int32_t best = -1;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    if (best < 0 || logits[i] > logits[static_cast<std::size_t>(best)])
      best = static_cast<std::int32_t>(i);
  }
  return best < 0 ? 0 : best;
}

Sampler::Sampler(const SamplingParams& params) : params_(params), state_(params.seed) {
  FS_CHECK(std::isfinite(params.temperature), kInvalidArgument, "temperature must be finite");
  FS_CHECK(params.top_p > 0.0f && params.top_p <= 1.0f, kInvalidArgument,
           "top_p must be in (0, 1], got " << params.top_p);
}

double Sampler::next_uniform() {
  // splitmix64 (Steele, Lea, Flood 2014): tiny, fast and the same on every platform,
  // unlike std::uniform_real_distribution.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::int32_t Sampler::sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f) return argmax(logits);
  const float max_logit = logits[static_cast<std::size_t>(argmax(logits))];
  scratch_.clear();
  double total = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    // The maximum weighs 1 even when it is +inf or every logit is -inf (l - max would be NaN).
    const float p =
        logits[i] == max_logit ? 1.0f : std::exp((logits[i] - max_logit) / params_.temperature);
    if (p > 0.0f) {
      scratch_.emplace_back(p, static_cast<std::int32_t>(i));
      total += p;
    }
  }
  // Highest probability first; index breaks ties so the order is deterministic.
  std::sort(scratch_.begin(), scratch_.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::size_t keep = scratch_.size();
  if (params_.top_p < 1.0f) {
    double cum = 0.0;
    for (std::size_t i = 0; i < scratch_.size(); ++i) {
      cum += scratch_[i].first / total;
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept_total = 0.0;
  for (std::size_t i = 0; i < keep; ++i) kept_total += scratch_[i].first;
  double u = next_uniform() * kept_total;
  for (std::size_t i = 0; i < keep; ++i) {
    u -= scratch_[i].first;
    if (u < 0.0) return scratch_[i].second;
  }
  return scratch_.empty() ? argmax(logits) : scratch_[keep - 1].second;  // empty: all NaN
}

}  // namespace framescribe::inference
