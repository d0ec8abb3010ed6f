// The paged-KV data movement of the CUDA batch engine (paged_kv.h): k RoPE'd into its slot,
// copy-on-write block copies, the logits-row gather. Status: compiled; NOT run on a GPU.
#include "cuda/common.cuh"
#include "cuda/paged_kv.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

// As rope_rows_kernel (decode_step.cu), the angle from positions[r], the row from slots[r].
__global__ void __launch_bounds__(kBlock)
    rope_slots_kernel(const float* __restrict__ in, std::int64_t in_stride, bf16* __restrict__ out,
                      std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                      const float2* __restrict__ table, const std::int32_t* __restrict__ positions,
                      const std::int32_t* __restrict__ slots) {
  const int half = head_dim / 2;
  const std::int64_t total = rows * half;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / half;
    const int j = static_cast<int>(i % half);
    const float2 cs = table[std::int64_t{positions[r]} * half + j];
    rope_pair_to_bf16(in + r * in_stride + 2 * j, out + std::int64_t{slots[r]} * out_stride + 2 * j,
                      cs, n_heads, head_dim);
  }
}

// grid (copy, layer, k|v): one block copies one layer of one block, 16 bytes per thread step.
__global__ void __launch_bounds__(kBlock)
    copy_blocks_kernel(bf16* __restrict__ k_pool, bf16* __restrict__ v_pool,
                       const std::int32_t* __restrict__ pairs, std::int64_t n_blocks,
                       std::int64_t block_elems) {
  bf16* pool = blockIdx.z == 0 ? k_pool : v_pool;
  const std::int64_t layer = blockIdx.y;
  const std::int64_t src = pairs[2 * blockIdx.x], dst = pairs[2 * blockIdx.x + 1];
  const uint4* from = reinterpret_cast<const uint4*>(pool + (layer * n_blocks + src) * block_elems);
  uint4* to = reinterpret_cast<uint4*>(pool + (layer * n_blocks + dst) * block_elems);
  for (std::int64_t i = threadIdx.x; i < block_elems / 8; i += blockDim.x) to[i] = from[i];
}

__global__ void __launch_bounds__(kBlock)
    gather_rows_kernel(const float* __restrict__ x, std::int64_t dim,
                       const std::int32_t* __restrict__ idx, float* __restrict__ out) {
  const float* src = x + std::int64_t{idx[blockIdx.x]} * dim;
  float* dst = out + static_cast<std::int64_t>(blockIdx.x) * dim;
  for (std::int64_t c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = src[c];
}

}  // namespace

void launch_rope_to_slots(const float* in, std::int64_t in_stride, bf16* out,
                          std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                          const float2* table, const std::int32_t* positions,
                          const std::int32_t* slots, cudaStream_t stream) {
  FS_CHECK(rows >= 0 && n_heads > 0 && head_dim > 0 && head_dim % 2 == 0 &&
               in_stride >= std::int64_t{n_heads} * head_dim &&
               out_stride >= std::int64_t{n_heads} * head_dim && positions != nullptr &&
               slots != nullptr,
           kInvalidArgument,
           "rope to slots: bad shape (" << rows << " rows, " << n_heads << "x" << head_dim << ")");
  if (rows == 0) return;
  rope_slots_kernel<<<grid_for(rows * (head_dim / 2), kBlock), kBlock, 0, stream>>>(
      in, in_stride, out, out_stride, rows, n_heads, head_dim, table, positions, slots);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_copy_kv_blocks(bf16* k_pool, bf16* v_pool, const std::int32_t* pairs, int n_copies,
                           int n_layer, std::int64_t n_blocks, std::int64_t block_elems,
                           cudaStream_t stream) {
  FS_CHECK(
      n_copies >= 0 && n_layer > 0 && n_layer <= 65535 && block_elems > 0 && block_elems % 8 == 0,
      kInvalidArgument,
      "copy KV blocks: " << n_copies << " copies, " << n_layer << " layers, blocks of "
                         << block_elems << " values (a multiple of 8 is needed)");
  if (n_copies == 0) return;
  copy_blocks_kernel<<<dim3(static_cast<unsigned>(n_copies), static_cast<unsigned>(n_layer), 2),
                       kBlock, 0, stream>>>(k_pool, v_pool, pairs, n_blocks, block_elems);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_gather_rows(const float* x, std::int64_t dim, const std::int32_t* idx, std::int64_t n,
                        float* out, cudaStream_t stream) {
  FS_CHECK(n >= 0 && n <= 0x7fffffff && dim > 0, kInvalidArgument,
           "gather rows: " << n << " rows of " << dim);
  if (n == 0) return;
  gather_rows_kernel<<<static_cast<unsigned>(n), kBlock, 0, stream>>>(x, dim, idx, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
