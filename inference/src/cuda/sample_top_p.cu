// Temperature + top-p (nucleus) sampling on the device, the same rule as Sampler::sample
// (sampling.cpp) given the same uniform draw u:
//   p_i = exp((l_i - max) / T) (NaN logits and p_i == 0 are dropped); sort by p descending,
//   lower index first on ties; keep the shortest prefix whose share of the total reaches top_p;
//   walk it subtracting p_i from u * (kept total) and take the token where it goes negative.
// The sort is CUB's stable radix sort (ties keep index order); the two walks are block-wide
// prefix sums in double over the sorted order, one 1024-thread block (131k entries is 128
// steps). The host draws u (its seeded generator), so device and host sampling agree except
// where float rounding of exp() moves a boundary (probability ~1e-7 per draw).
#include <cub/cub.cuh>

#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kBlock = 1024;

// One block: the maximum over non-NaN logits, then p_i for every i, and index values.
__global__ void __launch_bounds__(kBlock)
    softmax_weights_kernel(const float* __restrict__ logits, std::int64_t n, float temperature,
                           float* __restrict__ p, std::int32_t* __restrict__ index) {
  __shared__ float s_max[kBlock / kWarpSize];
  float m = -INFINITY;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (!isnan(logits[i])) m = fmaxf(m, logits[i]);
  m = warp_max(m);
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  if (lane == 0) s_max[warp] = m;
  __syncthreads();
  m = lane < static_cast<int>(blockDim.x / kWarpSize) ? s_max[lane] : -INFINITY;
  m = warp_max(m);
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float l = logits[i];
    // As the host: exp((l - max) / T) in float, 1 for the maximum itself (also when it is +inf
    // or every logit is -inf, where l - max would be NaN); NaN gives 0 (dropped).
    p[i] = isnan(l) ? 0.0f : l == m ? 1.0f : expf((l - m) / temperature);
    index[i] = static_cast<std::int32_t>(i);
  }
}

constexpr unsigned long long kNotFound = ~0ull;

// The first sorted position i (in [0, limit)) where pred(carry + inclusive prefix, i) holds, or
// kNotFound. Block-wide, in chunks of blockDim.x; every thread gets the result.
template <typename Pred>
__device__ unsigned long long first_prefix(
    const float* __restrict__ p, std::int64_t limit, Pred pred,
    typename cub::BlockScan<double, kBlock>::TempStorage& tmp, unsigned long long* s_found) {
  if (threadIdx.x == 0) *s_found = kNotFound;
  __syncthreads();
  double carry = 0.0;
  for (std::int64_t base = 0; base < limit; base += blockDim.x) {
    const std::int64_t i = base + threadIdx.x;
    const double v = i < limit ? static_cast<double>(p[i]) : 0.0;
    double incl, chunk;
    cub::BlockScan<double, kBlock>(tmp).InclusiveSum(v, incl, chunk);
    if (i < limit && pred(carry + incl, v)) atomicMin(s_found, static_cast<unsigned long long>(i));
    __syncthreads();  // s_found complete; tmp free for the next scan
    if (*s_found != kNotFound) break;
    carry += chunk;
  }
  const unsigned long long found = *s_found;
  __syncthreads();  // everyone has read s_found before it is reused
  return found;
}

__device__ double block_total(double v, typename cub::BlockScan<double, kBlock>::TempStorage& tmp) {
  double ignored, total;
  cub::BlockScan<double, kBlock>(tmp).ExclusiveSum(v, ignored, total);
  __syncthreads();  // tmp reusable
  return total;     // the aggregate is returned to every thread
}

// p sorted descending (zeros last). Top-p cut, then the draw, as Sampler::sample.
__global__ void __launch_bounds__(kBlock)
    top_p_select_kernel(const float* __restrict__ p, const std::int32_t* __restrict__ index,
                        std::int64_t n, float top_p, double u, std::int32_t* __restrict__ out) {
  __shared__ typename cub::BlockScan<double, kBlock>::TempStorage tmp;
  __shared__ unsigned long long s_found;

  double local = 0.0, positive = 0.0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    local += p[i];
    positive += p[i] > 0.0f ? 1.0 : 0.0;
  }
  const double total = block_total(local, tmp);
  const auto n_pos = static_cast<std::int64_t>(block_total(positive, tmp));

  // keep: the shortest prefix whose share reaches top_p; every positive weight otherwise.
  std::int64_t keep = n_pos;
  if (top_p < 1.0f) {
    const unsigned long long cut = first_prefix(
        p, n_pos, [=](double cum, double) { return cum / total >= top_p; }, tmp, &s_found);
    if (cut != kNotFound) keep = static_cast<std::int64_t>(cut) + 1;
  }

  double kept_local = 0.0;
  for (std::int64_t i = threadIdx.x; i < keep; i += blockDim.x) kept_local += p[i];
  const double target = u * block_total(kept_local, tmp);
  const unsigned long long pick = first_prefix(
      p, keep, [=](double cum, double) { return cum > target; }, tmp, &s_found);
  if (threadIdx.x == 0) {
    const std::int64_t i =
        pick != kNotFound ? static_cast<std::int64_t>(pick) : (keep > 0 ? keep - 1 : 0);
    *out = index[i];
  }
}

struct Workspace {
  float *p = nullptr, *p_sorted = nullptr;
  std::int32_t *index = nullptr, *index_sorted = nullptr;
  void* cub_temp = nullptr;
  std::size_t cub_bytes = 0;
};

// Carves the caller's workspace (or, with base == nullptr, only computes the size).
std::size_t carve(std::int64_t n, void* base, Workspace* w) {
  std::size_t cub_bytes = 0;
  cub::DeviceRadixSort::SortPairsDescending(
      nullptr, cub_bytes, static_cast<float*>(nullptr), static_cast<float*>(nullptr),
      static_cast<std::int32_t*>(nullptr), static_cast<std::int32_t*>(nullptr), n);
  std::size_t off = 0;
  auto take = [&](std::size_t bytes) {
    off = (off + 255) / 256 * 256;
    char* ptr = base != nullptr ? static_cast<char*>(base) + off : nullptr;
    off += bytes;
    return ptr;
  };
  const std::size_t nb = static_cast<std::size_t>(n);
  w->p = reinterpret_cast<float*>(take(nb * sizeof(float)));
  w->p_sorted = reinterpret_cast<float*>(take(nb * sizeof(float)));
  w->index = reinterpret_cast<std::int32_t*>(take(nb * sizeof(std::int32_t)));
  w->index_sorted = reinterpret_cast<std::int32_t*>(take(nb * sizeof(std::int32_t)));
  w->cub_temp = take(cub_bytes);
  w->cub_bytes = cub_bytes;
  return off;
}

}  // namespace

std::size_t sample_top_p_workspace_bytes(std::int64_t n) {
  Workspace w;
  return carve(n, nullptr, &w);
}

void launch_sample_top_p(const float* logits, std::int64_t n, float temperature, float top_p,
                         double u, void* workspace, std::size_t workspace_bytes, std::int32_t* out,
                         cudaStream_t stream) {
  FS_CHECK(n > 0 && n <= 0x7fffffff, kInvalidArgument, "sampling over " << n << " logits");
  FS_CHECK(top_p > 0.0f && top_p <= 1.0f, kInvalidArgument,
           "top_p must be in (0, 1], got " << top_p);
  FS_CHECK(u >= 0.0 && u < 1.0, kInvalidArgument, "the uniform draw must be in [0, 1), got " << u);
  if (!(temperature > 0.0f)) {  // greedy, as Sampler::sample
    launch_argmax(logits, n, out, stream);
    return;
  }
  Workspace w;
  const std::size_t need = carve(n, workspace, &w);
  FS_CHECK(workspace_bytes >= need, kInvalidArgument,
           "sampling workspace of " << workspace_bytes << " bytes, " << need << " needed");
  softmax_weights_kernel<<<1, kBlock, 0, stream>>>(logits, n, temperature, w.p, w.index);
  FS_CUDA_CHECK_LAUNCH();
  std::size_t cub_bytes = w.cub_bytes;
  FS_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(
      w.cub_temp, cub_bytes, w.p, w.p_sorted, w.index, w.index_sorted, n, 0,
      static_cast<int>(sizeof(float) * 8), stream));
  top_p_select_kernel<<<1, kBlock, 0, stream>>>(w.p_sorted, w.index_sorted, n, top_p, u, out);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
