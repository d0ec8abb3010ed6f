// Dummy weights (--load-format dummy): a counter-based hash (splitmix64 of seed + index) gives
// the same values on any device and launch geometry, without curand state; exactly the values
// of dummy::value (dummy_weights.h) that the CPU engine's dummy loader computes.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 256;

__device__ __forceinline__ std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void __launch_bounds__(kBlock)
    fill_uniform_kernel(bf16* __restrict__ p, std::int64_t n, std::uint64_t seed, float scale,
                        float offset) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t h = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(i)));
    const float u = static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
    p[i] = __float2bfloat16_rn(fmaf(scale, u, offset));  // fused, as std::fma on the host
  }
}

}  // namespace

void launch_fill_uniform(bf16* p, std::int64_t n, std::uint64_t seed, float scale, float offset,
                         cudaStream_t stream) {
  FS_CHECK(n >= 0, kInvalidArgument, "fill_uniform: negative size " << n);
  if (n == 0) return;
  fill_uniform_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(p, n, seed, scale, offset);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
