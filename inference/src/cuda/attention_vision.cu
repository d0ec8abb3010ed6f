// Vision attention: all images of a batch in one launch, non-causal inside each image, never
// across images (the block-diagonal mask of HF and vLLM, docs/pixtral.md 2.5). Each block
// belongs to one image (grid z), so no score is ever computed across an image boundary.
#include "cuda/attention.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

void launch_attention_vision(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                             std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                             const std::int32_t* seq_begin, int n_seq, int max_seq_len, int n_head,
                             int head_dim, cudaStream_t stream) {
  using namespace attention_detail;
  FS_CHECK(n_seq >= 0 && n_seq <= 65535 && max_seq_len >= 0 && n_head > 0, kInvalidArgument,
           "vision attention: bad sizes (" << n_seq << " images, " << max_seq_len
                                           << " patches at most, " << n_head << " heads)");
  if (n_seq == 0 || max_seq_len == 0) return;
  Args a = make_args(q, q_stride, k, v, kv_stride, out, out_stride, n_head, n_head, head_dim);
  a.seq_begin = seq_begin;
  a.causal = false;
  constexpr int kWarps = 4;
  const std::int64_t items = static_cast<std::int64_t>(max_seq_len);  // group = 1
  const dim3 grid(
      static_cast<unsigned>((items + kWarps * kItemsPerWarp - 1) / (kWarps * kItemsPerWarp)),
      static_cast<unsigned>(n_head), static_cast<unsigned>(n_seq));
  const bool ok = dispatch_head_dim(
      head_dim, [&]<int D>() { attention_kernel<D><<<grid, kWarps * kWarpSize, 0, stream>>>(a); });
  FS_CHECK(ok, kUnsupported,
           "vision attention: head_dim " << head_dim << " (supported: 16, 32, 64, 128)");
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
