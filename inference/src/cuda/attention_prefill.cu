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
  FS_CHECK(n_q >= 0 && pos0 >= 0 && n_head > 0 && n_head_kv > 0 && n_head % n_head_kv == 0 &&
               n_head_kv <= 65535,
           kInvalidArgument,
           "prefill attention: bad sizes (" << n_q << " queries at " << pos0 << ", " << n_head
                                            << "/" << n_head_kv << " heads)");
  if (n_q == 0) return;
  Args a{};
  a.q = q;
  a.q_stride = q_stride;
  a.k = k;
  a.v = v;
  a.kv_stride = kv_stride;
  a.out = out;
  a.out_stride = out_stride;
  a.n_head = n_head;
  a.n_head_kv = n_head_kv;
  a.scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  a.n_q = n_q;
  a.n_kv = pos0 + n_q;
  a.causal = true;
  a.pos0 = pos0;
  a.n_splits = 1;
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
