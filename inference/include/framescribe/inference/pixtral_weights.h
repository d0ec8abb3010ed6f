// Pixtral weights in float32 for the CPU engine, in one internal convention whatever the
// checkpoint layout: native (mistral-inference) tensor roles and the interleaved RoPE pair
// layout of q/k rows. Hugging Face q/k rows are un-permuted at load (docs/pixtral.md 5.3).
//
//   ModelConfig cfg = load_model_config(dir);
//   TensorStore store = TensorStore::open(cfg.weights_path);
//   PixtralWeights w = load_pixtral_weights(cfg, store);   // bf16/f16 widened to f32
//
// Matrices are row-major [out_features, in_features] (nn.Linear). Plain data, owned.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::inference {

struct BlockWeights {  // one pre-norm transformer block (vision or text)
  std::vector<float> attention_norm, wq, wk, wv, wo;
  std::vector<float> ffn_norm, w1, w2, w3;  // w1 gate, w3 up, w2 down
};

struct PixtralWeights {
  // Vision encoder.
  std::vector<float> patch_conv;  // [v.n_embd, 3 * patch * patch], [c][ky][kx] order
  std::vector<float> ln_pre;
  std::vector<BlockWeights> vision_layers;
  // Projector (vision_language_adapter / multi_modal_projector).
  std::vector<float> proj_w_in, proj_b_in, proj_w_out, proj_b_out;
  // Text decoder.
  std::vector<float> tok_embeddings;  // [n_vocab, n_embd]
  std::vector<BlockWeights> text_layers;
  std::vector<float> norm;
  std::vector<float> output;  // [n_vocab, n_embd]; a copy of tok_embeddings when tied
};

// The checkpoint's name for a tensor, given its native name (identity for the native layout).
std::string checkpoint_tensor_name(CheckpointLayout layout, const std::string& native_name);

// Rows of q/k for RoPE: Hugging Face's half-split layout -> native interleaved pairs, per head:
// W_native[h*hd + 2i + r] = W_hf[h*hd + r*hd/2 + i] (docs/pixtral.md 5.3, the inverse of
// convert_pixtral_weights_to_hf.py::permute_for_rope). `rows` is [n_heads*head_dim, row_len].
void permute_qk_hf_to_native(std::span<float> rows, int n_heads, int head_dim,
                             std::int64_t row_len);
// The forward permutation (native -> HF), for converters and tests.
void permute_qk_native_to_hf(std::span<float> rows, int n_heads, int head_dim,
                             std::int64_t row_len);

// Loads every tensor, checking names and shapes against the config. Throws Error naming the
// tensor and file on a missing tensor or a shape mismatch.
PixtralWeights load_pixtral_weights(const ModelConfig& config, const TensorStore& store);

// Random weights of the configured sizes, no file read (LoadFormat::kDummy): the same values,
// bf16-exact, as the CUDA engine generates for the same seed (src/dummy_weights.h), so the two
// engines can be compared at any size without a checkpoint. Meaningless answers.
PixtralWeights dummy_pixtral_weights(const ModelConfig& config, std::uint64_t seed);

}  // namespace framescribe::inference
