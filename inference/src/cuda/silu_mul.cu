// SiLU-gated FFN middle: silu(gate) * up from the fused w1|w3 GEMM output (gate columns first),
// in float32, rounded once to bf16 for the w2 GEMM (docs/pixtral.md 2.6 and 7.2).
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__global__ void __launch_bounds__(kBlock)
    silu_mul_kernel(const float* __restrict__ gate_up, std::int64_t rows, std::int64_t n_ff,
                    bf16* __restrict__ out) {
  const std::int64_t total = rows * n_ff;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / n_ff, c = i % n_ff;
    const float g = gate_up[r * 2 * n_ff + c], u = gate_up[r * 2 * n_ff + n_ff + c];
    // expf, not __expf: the fast intrinsic's error grows for large |g|.
    out[i] = __float2bfloat16_rn(g / (1.0f + expf(-g)) * u);
  }
}

}  // namespace

void launch_silu_mul(const float* gate_up, std::int64_t rows, std::int64_t n_ff, bf16* out,
                     cudaStream_t stream) {
  FS_CHECK(rows >= 0 && n_ff > 0, kInvalidArgument, "silu_mul: bad shape " << rows << "x" << n_ff);
  if (rows == 0) return;
  silu_mul_kernel<<<grid_for(rows * n_ff, kBlock), kBlock, 0, stream>>>(gate_up, rows, n_ff, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
