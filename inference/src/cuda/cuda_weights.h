// Pixtral weights on the device: bf16, in one DeviceArena, as views. q/k/v of a block are one
// fused [qd + 2 kvd, d] matrix and w1/w3 one fused [2 n_ff, d] matrix (gate rows first), so a
// block runs two GEMMs where the CPU engine runs five. q/k rows use the CPU engine's
// interleaved RoPE layout (Hugging Face checkpoints are un-permuted at load, as in
// pixtral_weights.cpp).
//
//   DeviceWeights w = upload_weights(config, TensorStore::open(config.weights_path), stream);
//   DeviceWeights d = dummy_weights(config, /*seed=*/0, stream);   // --load-format dummy
//
// Owned by the engine; immutable after load.
#pragma once

#include <cstdint>
#include <vector>

#include "cuda/device_memory.h"
#include "cuda/ops.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::inference::cuda {

struct DeviceBlock {
  bf16* attention_norm = nullptr;  // [d]
  bf16* wqkv = nullptr;            // [n_head*hd + 2*n_head_kv*hd, d]: wq, wk, wv rows
  bf16* wo = nullptr;              // [d, n_head*hd]
  bf16* ffn_norm = nullptr;        // [d]
  bf16* w13 = nullptr;             // [2*n_ff, d]: w1 (gate) rows, then w3 (up)
  bf16* w2 = nullptr;              // [d, n_ff]
};

struct DeviceWeights {
  DeviceArena arena;
  bf16* patch_conv = nullptr;  // [v.n_embd, 3*p*p], [c][ky][kx]
  bf16* ln_pre = nullptr;
  std::vector<DeviceBlock> vision;
  bf16 *proj_w_in = nullptr, *proj_b_in = nullptr;    // [td, vd], [td]
  bf16 *proj_w_out = nullptr, *proj_b_out = nullptr;  // [td, td], [td]
  bf16* tok_embeddings = nullptr;                     // [n_vocab, td]
  std::vector<DeviceBlock> text;
  bf16* norm = nullptr;
  bf16* output = nullptr;  // [n_vocab, td]
};

// Bytes the weights take on the device (for messages and the benchmark).
std::size_t weights_size_bytes(const ModelConfig& config);

// Reads every tensor (either checkpoint layout; names and shapes checked as the CPU loader
// does) and uploads it as bf16. Throws Error naming the tensor and file on a mismatch.
DeviceWeights upload_weights(const ModelConfig& config, const TensorStore& store,
                             cudaStream_t stream);

// Random weights of the configured sizes generated on the device, no files read: norms are 1,
// matrices uniform in +-1/sqrt(in_features), biases and embeddings small. For benchmarks and
// memory checks only.
DeviceWeights dummy_weights(const ModelConfig& config, std::uint64_t seed, cudaStream_t stream);

}  // namespace framescribe::inference::cuda
