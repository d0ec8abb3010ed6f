// The projector's middle: exact (erf) GELU of x + bias, as nn.GELU() (docs/pixtral.md 3.1; not
// the tanh approximation llama.cpp uses), float32 math, bf16 out for the second linear.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock)
    gelu_bias_kernel(const float* __restrict__ x, const bf16* __restrict__ bias, std::int64_t rows,
                     std::int64_t cols, bf16* __restrict__ out) {
  const std::int64_t total = rows * cols;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i] + (bias != nullptr ? __bfloat162float(bias[i % cols]) : 0.0f);
    out[i] = __float2bfloat16_rn(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
}

}  // namespace

void launch_gelu_bias(const float* x, const bf16* bias, std::int64_t rows, std::int64_t cols,
                      bf16* out, cudaStream_t stream) {
  FS_CHECK(rows >= 0 && cols > 0, kInvalidArgument, "gelu_bias: bad shape " << rows << "x" << cols);
  if (rows == 0) return;
  gelu_bias_kernel<<<grid_for(rows * cols, kBlock), kBlock, 0, stream>>>(x, bias, rows, cols, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
