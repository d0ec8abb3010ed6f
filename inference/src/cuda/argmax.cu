// Greedy token choice on the device: one block scans the logits (131k floats is one pass of a
// 1024-thread block). Same rule as argmax() in sampling.h: the largest value, the lowest index
// on ties, NaN never wins; all NaN (or n == 0 is refused) gives 0. The `masked` index reads as
// -inf (the image token, as greedy_choice in ../sample_loop.h masks it on the host). Used by
// CudaEngine::eval_greedy, inside the decode-step graph. Status: compiled; NOT run on a GPU.
#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 1024;

// True if (v, i) beats (best_v, best_i); a negative index is "nothing yet".
__device__ __forceinline__ bool better(float v, int i, float best_v, int best_i) {
  if (i < 0) return false;
  if (best_i < 0) return true;
  return v > best_v || (v == best_v && i < best_i);
}

// The best (value, index) of the warp, in every lane.
__device__ __forceinline__ void warp_best(float& best_v, int& best_i) {
  for (int o = kWarpSize / 2; o > 0; o /= 2) {
    const float ov = __shfl_xor_sync(0xffffffffu, best_v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (better(ov, oi, best_v, best_i)) {
      best_v = ov;
      best_i = oi;
    }
  }
}

__global__ void __launch_bounds__(kBlock)
    argmax_kernel(const float* __restrict__ logits, std::int64_t n, std::int64_t masked,
                  std::int32_t* __restrict__ out) {
  __shared__ float s_val[kBlock / kWarpSize];
  __shared__ int s_idx[kBlock / kWarpSize];
  float best_v = 0.0f;
  int best_i = -1;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = i == masked ? -INFINITY : logits[i];
    if (!isnan(v) && better(v, static_cast<int>(i), best_v, best_i)) {
      best_v = v;
      best_i = static_cast<int>(i);
    }
  }
  warp_best(best_v, best_i);
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  if (lane == 0) {
    s_val[warp] = best_v;
    s_idx[warp] = best_i;
  }
  __syncthreads();
  if (warp == 0) {
    const int n_warps = blockDim.x / kWarpSize;
    best_v = lane < n_warps ? s_val[lane] : 0.0f;
    best_i = lane < n_warps ? s_idx[lane] : -1;
    warp_best(best_v, best_i);
    if (lane == 0) *out = best_i < 0 ? 0 : best_i;
  }
}

}  // namespace

void launch_argmax(const float* logits, std::int64_t n, std::int64_t masked, std::int32_t* out,
                   cudaStream_t stream) {
  FS_CHECK(n > 0 && n <= 0x7fffffff, kInvalidArgument, "argmax over " << n << " logits");
  argmax_kernel<<<1, kBlock, 0, stream>>>(logits, n, masked, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
