// The CUDA engine (internal): bf16 weights in one arena (cuda_weights.h), a bf16 KV cache sized
// to max_context on the device, float32 residual stream, cuBLASLt GEMMs, the kernels of ops.h.
// Everything is allocated in the constructor; encode_images and eval allocate nothing on the
// device (only host-side result vectors and small staging vectors).
//
// Prefill runs in chunks of prefill_chunk_tokens (each chunk attends to the cache written by
// the previous ones), images in groups of at most vision_batch_tokens patches (each image
// whole). Not thread-safe: one thread drives one engine. A CUDA error marks the engine failed
// (the context may be unusable); later calls throw.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cuda/cuda_weights.h"
#include "cuda/device_memory.h"
#include "cuda/gemm.h"
#include "cuda/handles.h"
#include "framescribe/inference/attention_plan.h"
#include "framescribe/inference/engine.h"

namespace framescribe::inference::cuda {

class CudnnTextAttention;  // cudnn_text_attention.h

// Per-chunk text activations.
struct TextScratch {
  std::int32_t* tokens = nullptr;     // [T]
  std::int32_t* image_row = nullptr;  // [T], -1 for text tokens
  float* images = nullptr;            // [T, td] image rows used by the chunk
  float* x = nullptr;                 // [T, td] residual stream
  bf16* h = nullptr;                  // [T, max(td, qd, ff)] GEMM inputs
  float* qkv = nullptr;               // [T, qd + 2 kvd]
  bf16* q = nullptr;                  // [T, qd]
  float* gate_up = nullptr;           // [T, 2 ff]
  float* logits = nullptr;            // [kLogitRows, n_vocab]
  float* attn_workspace = nullptr;    // decode split-K partials
};

// Per-group vision activations (V patches) and projector outputs.
struct VisionScratch {
  float* pixels = nullptr;                        // [V * 3 * p * p]
  bf16* patches = nullptr;                        // [V, 3 * p * p]
  std::int32_t* positions = nullptr;              // [V] row * max_side + col
  std::int32_t* seq_begin = nullptr;              // [V + 1]
  float* x = nullptr;                             // [V, vd]
  bf16* h = nullptr;                              // [V, max(vd, vff, td)]
  float* qkv = nullptr;                           // [V, 3 vd]
  bf16 *q = nullptr, *k = nullptr, *v = nullptr;  // [V, vd] each
  float* gate_up = nullptr;                       // [V, 2 vff]
  float* proj = nullptr;                          // [V, td] projector hidden, then output
};

class CudaEngine final : public Engine {
 public:
  CudaEngine(const ModelConfig& config, const EngineOptions& options);
  ~CudaEngine() override;

  const ModelConfig& config() const override { return config_; }
  std::string_view backend_name() const override { return "cuda-bf16"; }
  std::string device_name() const override { return device_name_; }
  MemoryUse memory_use() const override;
  using Engine::encode_images;
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override;
  std::vector<float> eval(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings, LogitsMode mode) override;
  // The argmax on the device (argmax.cu, image token masked) after the last logits row; only
  // the 4-byte token comes back. Single-token steps run inside the decode-step graph.
  std::int32_t eval_greedy(std::span<const std::int32_t> tokens,
                           std::span<const float> image_embeddings) override;
  std::int64_t n_past() const override { return n_past_; }
  std::int64_t max_context() const override { return max_context_; }
  void truncate(std::int64_t n_tokens) override;

  // For the batch engine (cuda_batch_engine.h), which runs its text steps on this engine's
  // weights, GEMM plans and stream and encodes images with it (built with a small cache).
  const DeviceWeights& weights() const { return weights_; }
  Gemm& gemm() { return *gemm_; }
  cudaStream_t stream() const { return stream_.get(); }
  std::size_t state_bytes() const { return state_.size_bytes(); }

  static constexpr std::int64_t kLogitRows = 128;       // logits computed per GEMM
  static constexpr std::int64_t kDecodeMaxQueries = 4;  // chunks this short use split-K attention

 private:
  // vision_forward.cpp: one group of whole images, features to `out` (host, [patches, td]).
  void encode_group(std::span<const PixelImage* const> images, float* out);
  // text_forward.cpp: n tokens (already on the device in text_ scratch) at positions pos0..,
  // through every layer; leaves the final residual in text_.x.
  void forward_chunk(std::int64_t n, std::int64_t pos0);
  // Final norm + output projection of rows [r0, r1) of text_.x into host `out` ([r1-r0, vocab]).
  void logits(std::int64_t r0, std::int64_t r1, float* out);
  // The same for row r into text_.logits row 0, then its greedy token (argmax.cu) into *token.
  void greedy_token(std::int64_t r, std::int32_t* token);
  // eval and eval_greedy after their checks: kLast logits into `out`, or, when `token` is not
  // null, only the greedy token into *token (out unused).
  void run_tokens(std::span<const std::int32_t> tokens, std::span<const float> image_embd,
                  LogitsMode mode, float* out, std::int32_t* token);
  // text_forward.cpp: one decode step whose token (text_.tokens[0]) and position (step_[0];
  // step_[1] = position + 1) are read from device memory, logits into text_.logits row 0 and
  // their greedy token into greedy_ (one 1-block argmax per step, also when the caller wants the
  // logits); no host argument changes between steps, so it is captured once as a CUDA graph
  // and replayed.
  void decode_step_device();
  bool decode_step_device_possible() const;
  // cuda_engine.cpp: the kLast single-token eval through the graph (captured on the second
  // such call, once the GEMM plans exist; a capture failure disables graphs, logged once).
  // Copies back the logits into `out`, or, when `next` is not null, only the greedy token.
  void decode_with_graph(std::int32_t token, float* out, std::int32_t* next);
  template <typename Alloc>
  void layout_state(Alloc& alloc);
  void check_usable() const;

  ModelConfig config_;
  std::string device_name_;
  std::int64_t max_context_ = 0;
  std::int64_t chunk_tokens_ = 0;
  std::int64_t vision_tokens_ = 0;
  Stream stream_;
  std::unique_ptr<Gemm> gemm_;
  DeviceWeights weights_;
  DeviceArena state_;        // KV cache, RoPE tables, scratch
  bf16* k_cache_ = nullptr;  // [n_layer, max_context, kvd]
  bf16* v_cache_ = nullptr;
  float2* rope_text_ = nullptr;    // [max_context, hd/2]
  float2* rope_vision_ = nullptr;  // [max_side^2, vhd/2]
  TextScratch text_;
  VisionScratch vision_;
  // Which attention each path runs (decided at load, after cuDNN's plans were built and
  // self-tested), and the cuDNN text attention when a text path runs on it.
  AttentionPlan attention_plan_;
  std::unique_ptr<CudnnTextAttention> cudnn_;
  // The decode-step CUDA graph (issue 18): device scalars, the instantiated graph, whether an
  // eager device-position step ran (GEMM plans made) and whether graphs are on
  // (FRAMESCRIBE_CUDA_GRAPH=0 turns them off).
  std::int32_t* step_ = nullptr;    // [2]: position, position + 1
  std::int32_t* greedy_ = nullptr;  // [1]: the step's greedy token (argmax.cu)
  cudaGraphExec_t decode_graph_ = nullptr;
  bool decode_warm_ = false;
  bool graphs_enabled_ = true;
  std::int64_t n_past_ = 0;
  bool failed_ = false;
};

}  // namespace framescribe::inference::cuda
