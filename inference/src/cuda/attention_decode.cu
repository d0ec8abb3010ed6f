// Text attention for decode (one or a few queries against a long KV cache): with one query,
// a kv head has only `group` items, so the keys are split over many blocks to use the whole
// GPU (split-K, "flash decoding"), and a second kernel merges the partial softmaxes.
#include <algorithm>

#include "cuda/attention.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kMaxSplits = 128;
constexpr std::int64_t kMinKeysPerSplit = 256;

}  // namespace

std::int64_t attention_decode_workspace_floats(std::int64_t n_q, int n_head, int head_dim) {
  return static_cast<std::int64_t>(kMaxSplits) * n_q * n_head * (head_dim + 2);
}

void launch_attention_decode(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                             std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                             std::int64_t n_q, std::int64_t pos0, int n_head, int n_head_kv,
                             int head_dim, float* workspace, std::int64_t workspace_floats,
                             cudaStream_t stream) {
  using namespace attention_detail;
  Args a = make_causal_args("decode", q, q_stride, k, v, kv_stride, out, out_stride, n_q, pos0,
                            n_head, n_head_kv, head_dim);
  if (n_q == 0) return;
  FS_CHECK(workspace != nullptr &&
               workspace_floats >= attention_decode_workspace_floats(n_q, n_head, head_dim),
           kInvalidArgument,
           "decode attention: workspace of "
               << workspace_floats << " floats for " << n_q << " queries (needs "
               << attention_decode_workspace_floats(n_q, n_head, head_dim) << ")");
  // One query with supported heads and 16-byte aligned rows: the flash-decoding kernel.
  if (n_q == 1 && flash_decode_supports(n_head, n_head_kv, head_dim) && kv_stride % 8 == 0 &&
      reinterpret_cast<std::uintptr_t>(k) % 16 == 0 &&
      reinterpret_cast<std::uintptr_t>(v) % 16 == 0) {
    launch_attention_flash_decode(q, k, v, kv_stride, out, a.n_kv, n_head, n_head_kv, head_dim,
                                  workspace, workspace_floats, stream);
    return;
  }
  // Splits of at least kMinKeysPerSplit keys (a multiple of the tile), at most kMaxSplits.
  std::int64_t per_split = (a.n_kv + kMaxSplits - 1) / kMaxSplits;
  per_split = std::max(kMinKeysPerSplit, (per_split + kKeyTile - 1) / kKeyTile * kKeyTile);
  a.n_splits = static_cast<int>((a.n_kv + per_split - 1) / per_split);
  a.keys_per_split = per_split;
  a.part_acc = workspace;
  a.part_ml = workspace + static_cast<std::int64_t>(a.n_splits) * n_q * n_head * head_dim;

  // One warp per block: with a single query a kv head has `group` (4) items, one warp's worth.
  const int group = n_head / n_head_kv;
  const int warps = static_cast<int>(
      std::min<std::int64_t>(4, (n_q * group + kItemsPerWarp - 1) / kItemsPerWarp));
  const std::int64_t items = n_q * group;
  const std::int64_t blocks = (items + warps * kItemsPerWarp - 1) / (warps * kItemsPerWarp);
  FS_CHECK(blocks <= 0x7fffffff, kInvalidArgument, "decode attention: too many queries " << n_q);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(n_head_kv),
                  static_cast<unsigned>(a.n_splits));
  const bool ok = dispatch_head_dim(head_dim, [&]<int D>() {
    attention_kernel<D><<<grid, warps * kWarpSize, 0, stream>>>(a);
    if (a.n_splits > 1) {
      FS_CUDA_CHECK_LAUNCH();
      const std::int64_t slots = n_q * n_head;
      FS_CHECK(slots <= 0x7fffffff, kInvalidArgument, "decode attention: too many queries");
      const unsigned combine_threads = D < 128 ? D : 128;
      attention_combine_kernel<D><<<static_cast<unsigned>(slots), combine_threads, 0, stream>>>(a);
    }
  });
  FS_CHECK(ok, kUnsupported,
           "decode attention: head_dim " << head_dim << " (supported: 16, 32, 64, 128)");
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
