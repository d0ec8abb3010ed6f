// The CUDA engine's attention on cuDNN (cudnn_attention.h): the text-prefill plan (causal,
// GQA, Q from the chunk, K/V from one cache layer by strides), the decode plan (one query,
// sequence lengths only) and the vision plan (groups of equal images, e.g. the video window's
// frames), all built once at engine load for the engine's sizes, never per call.
//
//   CudnnTextAttention cudnn(setup, plan, k_cache, v_cache, stream);  // may fall back paths
//   cudnn.set_lengths(n, pos0, stream);       // once per chunk, before the layer loop
//   if (cudnn.prefill_on_cudnn()) cudnn.prefill(q, k_layer, v_layer, out);
//
// At load, each planned path is built, then self-tested against the own prefill kernel on random
// data (one cache layer is overwritten: call before anything is cached); under --attention auto
// the decode plan is also timed against the own split-K kernel and the faster is kept. A path
// that cannot be built (NOT_SUPPORTED, no engine config) or fails its self-test falls back to
// the own kernels through fall_back_to_own (the reason carries cuDNN's last error string; the
// engine logs the final plan once); under --attention cudnn that is a load error. A failure
// while running throws Error(kInternal): an engine error, never a silent switch.
// Status: compiled; has NOT run on a GPU (issue 18).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "cuda/cudnn_attention.h"
#include "cuda/device_memory.h"
#include "cuda/ops.h"
#include "framescribe/inference/attention_plan.h"

namespace framescribe::inference::cuda {

class CudnnTextAttention {
 public:
  struct Setup {
    int n_head = 0, n_head_kv = 0, head_dim = 0;
    std::int64_t chunk_tokens = 0, max_context = 0;
    AttentionChoice choice = AttentionChoice::kAuto;
    // Vision (0 images: no vision plan): groups of exactly vision_images images of
    // vision_patches patches each (the video window's frames) run on cuDNN.
    int vision_head = 0, vision_head_dim = 0;
    std::int64_t vision_images = 0, vision_patches = 0;
  };
  // Vision scratch for the load-time self-test: q, k, v and two outputs of
  // vision_images * vision_patches rows of vision_head * vision_head_dim.
  struct VisionScratch {
    bf16 *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr;
  };
  // Builds what `plan` runs on cuDNN and updates `plan` for what falls back. `k_scratch` and
  // `v_scratch` are one cache layer ([max_context, n_head_kv * head_dim]) the self-tests use.
  CudnnTextAttention(const Setup& setup, AttentionPlan& plan, bf16* k_scratch, bf16* v_scratch,
                     cudaStream_t stream, const VisionScratch& vision_scratch);
  ~CudnnTextAttention();
  CudnnTextAttention(const CudnnTextAttention&) = delete;
  CudnnTextAttention& operator=(const CudnnTextAttention&) = delete;

  bool prefill_on_cudnn() const { return prefill_ != nullptr; }
  bool decode_on_cudnn() const { return decode_ != nullptr; }
  bool vision_on_cudnn() const { return vision_ != nullptr; }
  bool any() const { return prefill_on_cudnn() || decode_on_cudnn() || vision_on_cudnn(); }
  // Whether a group of `n_images` images of `patches` patches each is the vision plan's shape.
  bool vision_fits(std::int64_t n_images, std::int64_t patches, bool uniform) const {
    return vision_ != nullptr && uniform && n_images == setup_.vision_images &&
           patches == setup_.vision_patches;
  }
  // q/k/v/out: [vision_images * vision_patches, vision_head * vision_head_dim].
  void vision(const bf16* q, const bf16* k, const bf16* v, bf16* out) const;

  // The sequence lengths of the next chunk (n queries after pos0 cached keys), written to device
  // memory on `stream` (the plans read them there).
  void set_lengths(std::int64_t n, std::int64_t pos0, cudaStream_t stream);
  // The same for one query at the device position pos[0] (a kernel: capturable in a graph).
  void set_lengths_from_device(const std::int32_t* pos, cudaStream_t stream);
  // q/out: [n, n_head * head_dim] rows; k/v: one cache layer. n is the set_lengths value.
  void prefill(const bf16* q, const bf16* k, const bf16* v, bf16* out) const;
  void decode(const bf16* q, const bf16* k, const bf16* v, bf16* out) const;

 private:
  // "" when the vision plan matches the own vision kernel on random data.
  std::string self_test_vision(const VisionScratch& vs, cudaStream_t stream);
  // "" when the plan's output matches the own kernel's on random data, else what differs.
  std::string self_test(const SdpaGraph& g, std::int64_t n, std::int64_t pos0, bf16* k, bf16* v,
                        cudaStream_t stream);
  // Microseconds per call of the decode plan and of the own split-K kernel at pos0 keys.
  void time_decode(std::int64_t pos0, bf16* k, bf16* v, cudaStream_t stream, double& cudnn_us,
                   double& own_us);

  Setup setup_;
  const CudnnApi* api_ = nullptr;
  std::unique_ptr<CudnnHandle> handle_;
  std::unique_ptr<SdpaGraph> prefill_, decode_, vision_;
  DeviceBuffer vision_lengths_;  // int32 [2, vision_images]: all vision_patches
  DeviceBuffer workspace_;
  DeviceBuffer lengths_;  // int32 [2]: seq_len_q, seq_len_kv
  std::int64_t workspace_bytes_ = 0;
};

}  // namespace framescribe::inference::cuda
