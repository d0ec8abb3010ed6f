// Device helpers shared by the kernels: launch geometry, warp/block reductions.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/cuda_check.h"
#include "cuda/ops.h"

namespace framescribe::inference::cuda {

inline constexpr int kWarpSize = 32;

// Blocks for a grid-stride loop over n items: enough to fill the device, never zero.
inline unsigned grid_for(std::int64_t n, int block) {
  const std::int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = kWarpSize / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = kWarpSize / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` is __shared__ float[32]. Contains __syncthreads: call from all threads.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int n_warps = blockDim.x / kWarpSize;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < n_warps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

__device__ __forceinline__ void store(float* p, float v) {
  *p = v;
}
__device__ __forceinline__ void store(bf16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

// RoPE of one interleaved pair (2j, 2j+1) of every head of a row: rotated by cs = (cos, sin) and
// stored as bf16. Shared by rope_kernel (rope.cu) and the decode step's cache write
// (decode_step.cu), so both round the same way.
__device__ __forceinline__ void rope_pair_to_bf16(const float* __restrict__ src,
                                                  bf16* __restrict__ dst, float2 cs, int n_heads,
                                                  int head_dim) {
  for (int h = 0; h < n_heads; ++h) {
    const float a = src[h * head_dim], b = src[h * head_dim + 1];
    dst[h * head_dim] = __float2bfloat16_rn(a * cs.x - b * cs.y);
    dst[h * head_dim + 1] = __float2bfloat16_rn(a * cs.y + b * cs.x);
  }
}

}  // namespace framescribe::inference::cuda
