// The Pixtral forward pass on the CPU, in float32: vision encoder + projector, and the Mistral
// text decoder with its KV cache. Internal to the CPU engine (cpu_engine.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/pixtral_weights.h"

namespace framescribe::inference::cpu {

// Vision encoder (docs/pixtral.md section 2) then projector (section 3.1) for all images.
// Returns [sum of patches, text n_embd].
std::vector<float> encode_images(const ModelConfig& config, const PixtralWeights& weights,
                                 std::span<const PixelImage* const> images);

// cos/sin of the 2-D RoPE angles for patch (row, col): [hd/2 pairs] as interleaved cos, sin.
void rope_2d_angles(int head_dim, double theta, int row, int col, float* cos_sin);
// cos/sin of the 1-D RoPE angles at `pos`.
void rope_1d_angles(int head_dim, double theta, std::int64_t pos, float* cos_sin);

class TextDecoder {
 public:
  TextDecoder(const ModelConfig& config, const PixtralWeights& weights, std::int64_t max_context);

  // docs/pixtral.md section 7: embeddings (image rows scattered over [IMG]), n_layer blocks,
  // final norm, logits.
  std::vector<float> forward(std::span<const std::int32_t> tokens,
                             std::span<const float> image_embd, LogitsMode mode);
  std::int64_t n_past() const { return n_past_; }
  // Bytes the KV cache holds now (it grows with the sequence, up to max_context).
  std::int64_t cache_bytes() const {
    std::size_t n = 0;
    for (const auto& c : k_cache_) n += c.capacity();
    for (const auto& c : v_cache_) n += c.capacity();
    return static_cast<std::int64_t>(n * sizeof(float));
  }
  std::int64_t max_context() const { return max_context_; }
  void truncate(std::int64_t n) { n_past_ = std::min(n_past_, std::max<std::int64_t>(0, n)); }

 private:
  void block(int layer, float* x, std::int64_t n);

  const ModelConfig& config_;
  const PixtralWeights& weights_;
  std::int64_t max_context_;
  std::int64_t n_past_ = 0;
  std::vector<std::vector<float>> k_cache_, v_cache_;  // per layer [positions, n_head_kv*hd]
};

}  // namespace framescribe::inference::cpu
