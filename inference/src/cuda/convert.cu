// float32 -> bf16 copies of row blocks (v into the KV cache, the projector's input) and the
// bias add after a GEMM: memory-bound elementwise kernels with grid-stride loops.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock)
    f32_to_bf16_kernel(const float* __restrict__ in, std::int64_t in_stride, bf16* __restrict__ out,
                       std::int64_t out_stride, std::int64_t rows, std::int64_t cols) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / cols, c = i % cols;
    out[r * out_stride + c] = __float2bfloat16_rn(in[r * in_stride + c]);
  }
}

__global__ void __launch_bounds__(kBlock)
    add_bias_kernel(float* __restrict__ x, const bf16* __restrict__ bias, std::int64_t rows,
                    std::int64_t cols) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    x[i] += __bfloat162float(bias[i % cols]);
}

}  // namespace

void launch_f32_to_bf16(const float* in, std::int64_t in_stride, bf16* out, std::int64_t out_stride,
                        std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  FS_CHECK(rows >= 0 && cols >= 0 && in_stride >= cols && out_stride >= cols, kInvalidArgument,
           "f32_to_bf16: bad shape " << rows << "x" << cols << ", strides " << in_stride << "/"
                                     << out_stride);
  if (rows == 0 || cols == 0) return;
  f32_to_bf16_kernel<<<grid_for(rows * cols, kBlock), kBlock, 0, stream>>>(in, in_stride, out,
                                                                           out_stride, rows, cols);
  FS_CUDA_CHECK_LAUNCH();
}

void launch_add_bias(float* x, const bf16* bias, std::int64_t rows, std::int64_t cols,
                     cudaStream_t stream) {
  FS_CHECK(rows >= 0 && cols > 0, kInvalidArgument, "add_bias: bad shape " << rows << "x" << cols);
  if (rows == 0) return;
  add_bias_kernel<<<grid_for(rows * cols, kBlock), kBlock, 0, stream>>>(x, bias, rows, cols);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
