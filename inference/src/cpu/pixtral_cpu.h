// The Pixtral forward pass on the CPU, in float32: vision encoder + projector, and the Mistral
// text decoder over a paged KV cache. Internal to the CPU engine (cpu_engine.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "framescribe/inference/batch_engine.h"
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

// The text decoder over a paged KV cache (batch_engine.h): block storage allocated on first use,
// bookkeeping in a KvBlockTable. Every row's arithmetic is fixed (row-independent GEMM dots,
// paged_attention in position order), so batched == sequential and chunked == whole, bit for bit.
class TextDecoder {
 public:
  TextDecoder(const ModelConfig& config, const PixtralWeights& weights, std::int64_t max_context,
              const KvCacheOptions& cache);

  // docs/pixtral.md section 7 for every span: embeddings (image rows scattered over [IMG]),
  // n_layer blocks, final norm and logits for the rows asked for. Validates every span first.
  StepResult step(std::span<const StepSpan> spans);
  // BatchEngine::shift_out: the table's bookkeeping, then every moved position's keys and values
  // copied down, the keys re-rotated by -(end - begin) positions (1-D RoPE, interleaved pairs).
  void shift_out(SeqId seq, std::int64_t begin, std::int64_t end);

  // The cached key (or value) row of `seq` at `pos` in `layer` ([n_head_kv * head_dim]; tests).
  std::vector<float> cached_row(SeqId seq, int layer, std::int64_t pos, bool value) const;

  KvBlockTable& table() { return table_; }
  const KvBlockTable& table() const { return table_; }
  // Bytes of the blocks allocated so far (blocks get storage on first use, up to the pool size).
  std::int64_t cache_bytes() const;
  std::int64_t max_context() const { return max_context_; }

 private:
  struct Rows;  // the step's packed rows (text_decoder.cpp)
  void block(int layer, float* x, const Rows& rows);
  float* block_data(std::int32_t b);

  const ModelConfig& config_;
  const PixtralWeights& weights_;
  std::int64_t max_context_;
  KvBlockTable table_;
  std::int64_t block_floats_;                   // n_layer * 2 (k, v) * block_tokens * kvd
  std::vector<std::unique_ptr<float[]>> data_;  // per block, nullptr until first used
};

}  // namespace framescribe::inference::cpu
