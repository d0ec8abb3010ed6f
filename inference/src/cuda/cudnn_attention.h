// cuDNN fused attention (flash attention, forward) through cuDNN's backend graph API, called
// through the dlopen'ed CudnnApi (cudnn_library.h): no link dependency, no cudnn-frontend.
//
// The operation graph is the one cuDNN's fused-attention engine recognises (the same nodes the
// cudnn-frontend's SDPA node lowers to, written here with backend descriptors):
//   S = Q . K^T (M/N overridden by the sequence lengths)   -> S * scale
//   -> padding mask (row < seq_len_q and col < seq_len_kv, else -inf)
//   -> [causal, bottom-right: row + seq_len_kv - seq_len_q >= col, else -inf]
//   -> softmax (max, sub, exp, sum, div; log-sum-exp statistics virtual)
//   -> O = P . V (M/K overridden by the sequence lengths)
// Shapes are fixed when the graph is built (at engine load); the actual lengths of a call are
// the int32 [batch] tensors seq_len_q / seq_len_kv in device memory, so one plan serves every
// chunk length and cache position up to the built maxima.
//
//   SdpaShape shape = text_prefill_shape(...);        // pure arithmetic, no device
//   SdpaGraph g(api, shape, versions.library);        // descriptors built and finalized (no GPU)
//   g.make_plan(handle.get());                        // heuristics + execution plan (GPU)
//   g.run(handle.get(), {q, k, v, o, seq_q, seq_kv}, workspace, workspace_bytes);
//
// Errors: building throws Error(kUnsupported) "cuDNN <step> (<shape>): <status>: <cuDNN's last
// error string>" - the engine falls back to its own kernel for that path and logs it once.
// run() throws Error(kInternal) with the same detail: a failure while running is an engine
// error, never a silent switch. Status: compiled, descriptor building unit-tested without a
// GPU; planning and execution have NOT run (no GPU lent yet, issue 18).
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/cudnn_library.h"
#include "framescribe/inference/attention_plan.h"

namespace framescribe::inference::cuda {

// One attention problem as cuDNN sees it: [batch, heads, seq, head_dim] views of row-major
// token-major buffers ([token, heads * head_dim] with a row stride per token).
struct SdpaShape {
  std::int64_t batch = 1;
  std::int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
  std::int64_t s_q = 0, s_kv = 0;  // maxima; the actual lengths come from device memory
  std::int64_t q_row = 0, kv_row = 0, o_row = 0;        // elements between consecutive tokens
  std::int64_t q_batch = 0, kv_batch = 0, o_batch = 0;  // elements between sequences
  bool causal_bottom_right = false;                     // else padding (sequence lengths) only
  float scale = 0.0f;                                   // 1/sqrt(head_dim)
  std::string str() const;                              // "b1 h32/8 sq2048 skv131072 d128 causal"
};

// The engine's text paths: Q is the chunk ([T, n_head*hd], stride n_head*hd), K/V one layer of
// the cache ([max_context, n_head_kv*hd]), O like Q. Prefill is causal (bottom-right: the
// chunk's queries sit at the end of the cached keys); decode (one query) uses the sequence
// lengths only, never a causal mask (cuDNN 9.18.1 notes: one-query GQA + causal is wrong).
// Vision: a group of `n_images` images of `patches` patches each is already a padded batch
// ([n_images, patches, n_head*hd], no copy): non-causal, block-diagonal by the batch. Groups of
// other sizes (ragged offsets) are not built on cuDNN: they run the own kernel.
SdpaShape text_prefill_shape(int n_head, int n_head_kv, int head_dim, std::int64_t chunk_tokens,
                             std::int64_t max_context);
SdpaShape decode_shape(int n_head, int n_head_kv, int head_dim, std::int64_t max_context);
SdpaShape vision_shape(int n_head, int head_dim, std::int64_t n_images, std::int64_t patches);
// Argument checks shared by the builders and the tests (kInvalidArgument naming the field).
void check_shape(const SdpaShape& s);

// Move-only owner of one cudnnBackendDescriptor_t.
class BackendDescriptor {
 public:
  BackendDescriptor() = default;
  BackendDescriptor(const CudnnApi& api, cudnnBackendDescriptorType_t type, const char* what);
  ~BackendDescriptor();
  BackendDescriptor(BackendDescriptor&& o) noexcept;
  BackendDescriptor& operator=(BackendDescriptor&& o) noexcept;
  BackendDescriptor(const BackendDescriptor&) = delete;
  BackendDescriptor& operator=(const BackendDescriptor&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }

 private:
  const CudnnApi* api_ = nullptr;
  cudnnBackendDescriptor_t d_ = nullptr;
};

// Move-only owner of a cudnnHandle_t (cudnnCreate needs a GPU).
class CudnnHandle {
 public:
  CudnnHandle(const CudnnApi& api, cudaStream_t stream);
  ~CudnnHandle();
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  cudnnHandle_t get() const { return h_; }

 private:
  const CudnnApi* api_;
  cudnnHandle_t h_ = nullptr;
};

struct SdpaPointers {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  const std::int32_t* seq_len_q;   // device, [batch]
  const std::int32_t* seq_len_kv;  // device, [batch]
};

class SdpaGraph {
 public:
  // Builds and finalizes every tensor and operation descriptor (needs the library, not a GPU).
  // `library` picks the mask constant (-inf from 9.10, the lowest float before).
  SdpaGraph(const CudnnApi& api, const SdpaShape& shape, CudnnVersion library);
  SdpaGraph(SdpaGraph&&) noexcept = default;
  SdpaGraph& operator=(SdpaGraph&&) noexcept = default;

  const SdpaShape& shape() const { return shape_; }
  std::size_t n_operations() const { return ops_.size(); }
  std::size_t n_tensors() const { return tensors_.size(); }

  // Operation graph, heuristics (mode A), and the first engine config whose execution plan
  // finalizes. Throws kUnsupported (with cuDNN's last error) when none does.
  void make_plan(cudnnHandle_t handle);
  bool planned() const { return plan_.get() != nullptr; }
  std::int64_t workspace_bytes() const { return workspace_bytes_; }
  int engine_configs_tried() const { return configs_tried_; }
  // Enqueues the attention on the handle's stream. Throws kInternal on any cuDNN failure.
  void run(cudnnHandle_t handle, const SdpaPointers& p, void* workspace,
           std::int64_t workspace_bytes) const;

 private:
  cudnnBackendDescriptor_t tensor(std::int64_t uid, cudnnDataType_t type,
                                  std::vector<std::int64_t> dims, std::vector<std::int64_t> strides,
                                  bool is_virtual, bool by_value = false);
  cudnnBackendDescriptor_t virtual_like_scores(cudnnDataType_t type);
  cudnnBackendDescriptor_t pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t compute,
                                     cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b,
                                     cudnnBackendDescriptor_t y,
                                     cudnnBackendDescriptor_t t = nullptr, std::int64_t axis = -1);
  void reduction(cudnnReduceTensorOp_t op, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t y);
  void matmul(cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t c,
              cudnnBackendDescriptor_t m_override, cudnnBackendDescriptor_t n_override,
              cudnnBackendDescriptor_t k_override);

  const CudnnApi* api_;
  SdpaShape shape_;
  float mask_value_;
  float scale_value_;
  std::int64_t next_virtual_uid_ = 100;
  std::vector<BackendDescriptor> tensors_, ops_, misc_;
  BackendDescriptor graph_, plan_;
  std::int64_t workspace_bytes_ = 0;
  int configs_tried_ = 0;
};

// Unique ids of the graph's non-virtual tensors (the variant pack's keys).
enum SdpaUid : std::int64_t {
  kSdpaQ = 1,
  kSdpaK = 2,
  kSdpaV = 3,
  kSdpaO = 4,
  kSdpaSeqQ = 5,
  kSdpaSeqKv = 6,
  kSdpaScale = 7,
  kSdpaMask = 8,
};

}  // namespace framescribe::inference::cuda
