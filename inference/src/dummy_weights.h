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
#include <span>
#include <string_view>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"  // bf16_to_f32, f32_to_bf16

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

// Value i of a tensor with fill `f`, as the float32 the bf16 value widens to.
inline float value(const Fill& f, std::uint64_t i) {
  return bf16_to_f32(f32_to_bf16(std::fma(f.scale, uniform(f.seed, i), f.offset)));
}

}  // namespace framescribe::inference::dummy
