// The pieces of a decode step whose positions come from device memory, so one captured CUDA
// graph replays every step (issue 18): RoPE of k written straight into the K/V cache row of the
// position, v converted into its row, and the attention lengths of the step.
// Status: compiled; NOT run on a GPU.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

// As rope_kernel (rope.cu), with the output row = the position: out + positions[r] * out_stride.
__global__ void __launch_bounds__(kBlock)
    rope_rows_kernel(const float* __restrict__ in, std::int64_t in_stride, bf16* __restrict__ out,
                     std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                     const float2* __restrict__ table, const std::int32_t* __restrict__ positions) {
  const int half = head_dim / 2;
  const std::int64_t total = rows * half;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / half;
    const int j = static_cast<int>(i % half);
    const std::int64_t p = positions[r];
    const float2 cs = table[p * half + j];
    const float* src = in + r * in_stride + 2 * j;
    bf16* dst = out + p * out_stride + 2 * j;
    rope_pair_to_bf16(src, dst, cs, n_heads, head_dim);
  }
}

__global__ void __launch_bounds__(kBlock)
    f32_to_bf16_rows_kernel(const float* __restrict__ in, std::int64_t in_stride,
                            bf16* __restrict__ out, std::int64_t out_stride, std::int64_t rows,
                            std::int64_t cols, const std::int32_t* __restrict__ out_rows) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / cols, c = i % cols;
    out[std::int64_t{out_rows[r]} * out_stride + c] = __float2bfloat16_rn(in[r * in_stride + c]);
  }
}

__global__ void __launch_bounds__(32) decode_lengths_kernel(const std::int32_t* __restrict__ pos,
                                                            std::int32_t* __restrict__ lengths) {
  if (threadIdx.x == 0) {
    lengths[0] = 1;
    lengths[1] = pos[0] + 1;
  }
}

}  // namespace

void launch_rope_into_rows(const float* in, std::int64_t in_stride, bf16* out,
                           std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                           const float2* table, const std::int32_t* positions,
                           cudaStream_t stream) {
  FS_CHECK(rows >= 0 && n_heads > 0 && head_dim > 0 && head_dim % 2 == 0 &&
               in_stride >= std::int64_t{n_heads} * head_dim &&
               out_stride >= std::int64_t{n_heads} * head_dim && positions != nullptr,
           kInvalidArgument,
           "rope into rows: bad shape " << rows << " rows, " << n_heads << " heads of " << head_dim
                                        << ", strides " << in_stride << "/" << out_stride);
  if (rows == 0) return;
  rope_rows_kernel<<<grid_for(rows * head_dim / 2, kBlock), kBlock, 0, stream>>>(
      in, in_stride, out, out_stride, rows, n_heads, head_dim, table, positions);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_f32_to_bf16_rows(const float* in, std::int64_t in_stride, bf16* out,
                             std::int64_t out_stride, std::int64_t rows, std::int64_t cols,
                             const std::int32_t* out_rows, cudaStream_t stream) {
  FS_CHECK(rows >= 0 && cols >= 0 && in_stride >= cols && out_stride >= cols && out_rows != nullptr,
           kInvalidArgument,
           "f32_to_bf16 into rows: bad shape " << rows << "x" << cols << ", strides " << in_stride
                                               << "/" << out_stride);
  if (rows == 0 || cols == 0) return;
  f32_to_bf16_rows_kernel<<<grid_for(rows * cols, kBlock), kBlock, 0, stream>>>(
      in, in_stride, out, out_stride, rows, cols, out_rows);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_decode_lengths(const std::int32_t* pos, std::int32_t* lengths, cudaStream_t stream) {
  FS_CHECK(pos != nullptr && lengths != nullptr, kInvalidArgument, "decode lengths: null");
  decode_lengths_kernel<<<1, 32, 0, stream>>>(pos, lengths);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
