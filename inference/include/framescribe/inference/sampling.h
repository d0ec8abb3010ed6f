// Choosing the next token from logits: greedy, or temperature + top-p (nucleus) with a seeded,
// platform-independent generator (the same seed gives the same tokens everywhere).
//
//   Sampler s({.temperature = 0.7f, .top_p = 0.9f, .seed = 42});
//   int32_t tok = s.sample(logits);
//
// A Sampler is not thread-safe (it owns its generator state).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace framescribe::inference {

struct SamplingParams {
  float temperature = 0.0f;  // <= 0: greedy (argmax)
  float top_p = 1.0f;        // keep the smallest set of tokens whose probability reaches top_p
  std::uint64_t seed = 0;
};

// Index of the largest value; the lowest index wins ties. NaN never wins.
std::int32_t argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  std::int32_t sample(std::span<const float> logits);
  // Uniform double in [0, 1) from the generator (splitmix64), exposed for tests.
  double next_uniform();

 private:
  SamplingParams params_;
  std::uint64_t state_;
  std::vector<std::pair<float, std::int32_t>> scratch_;
};

}  // namespace framescribe::inference
