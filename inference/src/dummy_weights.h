// Dummy weights (LoadFormat::kDummy, vLLM's --load-format dummy): the one definition of the
// random values both engines generate, so a CPU engine and a CUDA engine loaded with the same
// seed hold bit-identical weights (bf16 values; the CPU engine widens them to float32) and can be
// compared without any checkpoint.
//
// Value i of a native tensor = bf16_rne(fma(scale, u_i, offset)), u_i in [-1, 1) from a
// counter-based hash (splitmix64 of the tensor's seed and i): independent of the order tensors
// are generated in, of the device and of the launch geometry. Per tensor, by native name:
//   norms (*norm.weight, ln_pre.weight)  1
//   biases (*.bias)                      +-0.01 (0 when the config has no projector bias)
//   tok_embeddings (and a tied output)   +-0.05
//   matrices                             +-1/sqrt(in_features): activations stay O(1)
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "framescribe/inference/model_config.h"

namespace framescribe::inference::dummy {

struct Fill {
  std::uint64_t seed = 0;
  float scale = 0.0f;
  float offset = 0.0f;
};

// The fill of one tensor, by its native (mistral-inference) name and shape.
Fill fill_for(const ModelConfig& config, std::uint64_t model_seed, std::string_view native_name,
              std::span<const std::int64_t> shape);

constexpr std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// u in [-1, 1): 24 hash bits, exact in float32 (the device kernel computes the same).
inline float uniform(std::uint64_t seed, std::uint64_t i) {
  const std::uint64_t h = splitmix64(seed ^ splitmix64(i));
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// Round to nearest even (NaN kept quiet): __float2bfloat16_rn on the host.
inline std::uint16_t to_bf16_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float from_bf16_bits(std::uint16_t b) {
  const std::uint32_t u = std::uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Value i of a tensor with fill `f`, as the float32 the bf16 value widens to.
inline float value(const Fill& f, std::uint64_t i) {
  return from_bf16_bits(to_bf16_bits(std::fma(f.scale, uniform(f.seed, i), f.offset)));
}

}  // namespace framescribe::inference::dummy
