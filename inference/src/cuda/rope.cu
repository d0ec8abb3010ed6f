// Rotary position embedding: cos/sin tables (1-D text, 2-D vision) and the rotation of
// interleaved pairs (docs/pixtral.md 2.4 and 7.4, native complex-multiply form).
//
// Angles: the references compute pos * f in float32; with theta = 1e9 the fastest pair turns
// 1 rad per token, and at 100k tokens float32 keeps only ~3 decimal digits of the angle. Like
// the CPU engine (cpu::rope_1d_angles), the tables are computed in double and rounded to float32
// cos/sin once; the rotation itself is float32. The tables are built once at load, so the
// double-precision cost (slow on consumer GPUs) is not paid per token.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock)
    rope_table_1d_kernel(float2* table, std::int64_t n_pos, int head_dim, double theta) {
  const int half = head_dim / 2;
  const std::int64_t total = n_pos * half;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t pos = i / half;
    const int j = static_cast<int>(i % half);
    const double a = static_cast<double>(pos) * pow(theta, -2.0 * j / head_dim);
    double s, c;
    sincos(a, &s, &c);
    table[i] = make_float2(static_cast<float>(c), static_cast<float>(s));
  }
}

__global__ void __launch_bounds__(kBlock)
    rope_table_2d_kernel(float2* table, int max_side, int head_dim, double theta) {
  const int half = head_dim / 2, quarter = head_dim / 4;
  const std::int64_t total = static_cast<std::int64_t>(max_side) * max_side * half;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t cell = i / half;
    const int k = static_cast<int>(i % half);
    const int row = static_cast<int>(cell / max_side), col = static_cast<int>(cell % max_side);
    // Height first with the even-indexed base frequencies, then width with the odd ones.
    const int j = k < quarter ? 2 * k : 2 * (k - quarter) + 1;
    const double a = (k < quarter ? row : col) * pow(theta, -2.0 * j / head_dim);
    double s, c;
    sincos(a, &s, &c);
    table[i] = make_float2(static_cast<float>(c), static_cast<float>(s));
  }
}

// One thread per (row, pair); it rotates that pair in every head, so each table entry is read
// once per row.
__global__ void __launch_bounds__(kBlock)
    rope_kernel(const float* __restrict__ in, std::int64_t in_stride, bf16* __restrict__ out,
                std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                const float2* __restrict__ table, const std::int32_t* __restrict__ positions,
                std::int64_t pos0) {
  const int half = head_dim / 2;
  const std::int64_t total = rows * half;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / half;
    const int j = static_cast<int>(i % half);
    const std::int64_t p = positions != nullptr ? positions[r] : pos0 + r;
    const float2 cs = table[p * half + j];
    const float* src = in + r * in_stride + 2 * j;
    bf16* dst = out + r * out_stride + 2 * j;
    rope_pair_to_bf16(src, dst, cs, n_heads, head_dim);
  }
}

}  // namespace

void launch_rope_table_1d(float2* table, std::int64_t n_pos, int head_dim, double theta,
                          cudaStream_t stream) {
  FS_CHECK(n_pos >= 0 && head_dim > 0 && head_dim % 2 == 0, kInvalidArgument,
           "rope table: bad sizes " << n_pos << " positions, head_dim " << head_dim);
  if (n_pos == 0) return;
  rope_table_1d_kernel<<<grid_for(n_pos * head_dim / 2, kBlock), kBlock, 0, stream>>>(
      table, n_pos, head_dim, theta);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_rope_table_2d(float2* table, int max_side, int head_dim, double theta,
                          cudaStream_t stream) {
  FS_CHECK(max_side > 0 && head_dim > 0 && head_dim % 4 == 0, kInvalidArgument,
           "2-D rope table: bad sizes " << max_side << " per side, head_dim " << head_dim);
  rope_table_2d_kernel<<<grid_for(std::int64_t{max_side} * max_side * head_dim / 2, kBlock), kBlock,
                         0, stream>>>(table, max_side, head_dim, theta);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_rope(const float* in, std::int64_t in_stride, bf16* out, std::int64_t out_stride,
                 std::int64_t rows, int n_heads, int head_dim, const float2* table,
                 const std::int32_t* positions, std::int64_t pos0, cudaStream_t stream) {
  FS_CHECK(rows >= 0 && n_heads > 0 && head_dim > 0 && head_dim % 2 == 0 &&
               in_stride >= std::int64_t{n_heads} * head_dim &&
               out_stride >= std::int64_t{n_heads} * head_dim,
           kInvalidArgument,
           "rope: bad shape " << rows << " rows, " << n_heads << " heads of " << head_dim
                              << ", strides " << in_stride << "/" << out_stride);
  if (rows == 0) return;
  rope_kernel<<<grid_for(rows * head_dim / 2, kBlock), kBlock, 0, stream>>>(
      in, in_stride, out, out_stride, rows, n_heads, head_dim, table, positions, pos0);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
