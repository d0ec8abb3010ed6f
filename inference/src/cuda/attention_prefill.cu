// Text attention for a prefill chunk: causal, GQA, the chunk's queries against the whole KV
// cache up to their own positions (chunked prefill: earlier chunks are already cached).
#include "cuda/attention.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

void launch_attention_prefill(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                              std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                              std::int64_t n_q, std::int64_t pos0, int n_head, int n_head_kv,
                              int head_dim, cudaStream_t stream) {
  using namespace attention_detail;
  const Args a = make_causal_args("prefill", q, q_stride, k, v, kv_stride, out, out_stride, n_q,
                                  pos0, n_head, n_head_kv, head_dim);
  if (n_q == 0) return;
  constexpr int kWarps = 4;
  const std::int64_t items = n_q * (n_head / n_head_kv);
  const std::int64_t blocks = (items + kWarps * kItemsPerWarp - 1) / (kWarps * kItemsPerWarp);
  FS_CHECK(blocks <= 0x7fffffff, kInvalidArgument, "prefill attention: too many queries " << n_q);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(n_head_kv), 1);
  const bool ok = dispatch_head_dim(
      head_dim, [&]<int D>() { attention_kernel<D><<<grid, kWarps * kWarpSize, 0, stream>>>(a); });
  FS_CHECK(ok, kUnsupported,
           "prefill attention: head_dim " << head_dim << " (supported: 16, 32, 64, 128)");
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
