// Flash decoding: one query per kv head group against a long KV cache, keys split over enough
// blocks to fill every SM (at 1k and at 128k keys), each split's partial softmax merged by
// attention_combine_kernel (attention.cuh). Replaces the one-warp decode blocks for n_q == 1.
//
// Block: 4 warps (128 threads), one kv head, one split of keys. The K and V tiles (32 keys) are
// loaded with cp.async 16-byte copies, double-buffered: tile t+1 is in flight while tile t is
// computed. Warp w serves query heads w, w + 4 (group <= 8): for scores lane j holds key j of
// the tile (a dot product over head_dim from shared memory, q broadcast); for P.V lane l holds
// output dims [l*D/32, (l+1)*D/32). Softmax online in float32, like attention_kernel.
//
// Status: compiled (ptxas numbers in README.md); NOT run on a GPU (issue 18).
#include <cuda_bf16.h>

#include <algorithm>

#include "cuda/attention.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;
constexpr int kTile = 32;     // keys per tile (one per lane)
constexpr int kMaxGroup = 8;  // query heads per kv head
constexpr int kHeadsPerWarp = kMaxGroup / kWarps;
constexpr int kBlocksPerSm = 4;  // splits aim at this many blocks per SM
constexpr int kMinTilesPerSplit = 1;

__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int src_bytes = valid ? 16 : 0;  // 0: the 16 bytes are zero-filled, nothing is read
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem),
               "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

struct FlashArgs {
  const bf16* q;
  std::int64_t q_stride;
  const bf16* k;
  const bf16* v;
  std::int64_t kv_stride;
  int n_head, n_head_kv;
  float scale;
  std::int64_t n_kv;                // keys 0..n_kv-1 are visible (the query is the last position)
  std::int64_t keys_per_split;      // a multiple of kTile
  const std::int32_t* n_kv_device;  // when set: n_kv read here, the splits spread over the grid
  float* part_acc;                  // [n_splits, n_head, D]
  float* part_ml;                   // [n_splits, n_head, 2]
};

template <int D>
__global__ void __launch_bounds__(kThreads) flash_decode_kernel(FlashArgs a) {
  static_assert(D % 32 == 0 && D <= 128, "head_dim: 32, 64 or 128");
  constexpr int kRow = D + 8;  // bf16s per shared row: 16-byte aligned, conflict-free uint4 reads
  constexpr int kDimsPerLane = D / kWarpSize;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  __shared__ __align__(16) bf16 s_k[2][kTile * kRow];
  __shared__ __align__(16) bf16 s_v[2][kTile * kRow];
  __shared__ __align__(16) float s_q[kMaxGroup * D];
  __shared__ float s_p[kMaxGroup * kTile];
  static_assert(sizeof(s_k) + sizeof(s_v) + sizeof(s_q) + sizeof(s_p) <= 48 * 1024,
                "flash_decode_kernel: static shared memory over 48 KB");

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int group = a.n_head / a.n_head_kv;
  const int kvh = blockIdx.y, split = blockIdx.x;
  std::int64_t n_kv = a.n_kv, per_split = a.keys_per_split;
  if (a.n_kv_device != nullptr) {
    // Graph replay: the grid was sized for the maximum; tiles spread over it, later splits may
    // be empty (they write m = -inf, l = 0, which the combine ignores).
    n_kv = *a.n_kv_device;
    const std::int64_t tiles = (n_kv + kTile - 1) / kTile;
    per_split = (tiles + gridDim.x - 1) / gridDim.x * kTile;
  }
  const std::int64_t k_lo = static_cast<std::int64_t>(split) * per_split;
  const std::int64_t k_hi = min(n_kv, k_lo + per_split);
  const bf16* k_base = a.k + static_cast<std::int64_t>(kvh) * D;
  const bf16* v_base = a.v + static_cast<std::int64_t>(kvh) * D;

  // Tile loader: kTile rows x kChunks 16-byte chunks of K and of V; rows past k_hi are zeros.
  auto load_tile = [&](int stage, std::int64_t t0) {
    for (int i = threadIdx.x; i < kTile * kChunks; i += kThreads) {
      const int j = i / kChunks, c = i % kChunks;
      const bool valid = t0 + j < k_hi;
      const std::int64_t row = valid ? t0 + j : k_lo;
      cp_async_16(&s_k[stage][j * kRow + c * 8], k_base + row * a.kv_stride + c * 8, valid);
      cp_async_16(&s_v[stage][j * kRow + c * 8], v_base + row * a.kv_stride + c * 8, valid);
    }
    cp_async_commit();
  };
  if (k_lo < k_hi) load_tile(0, k_lo);

  // q of the group's heads, as float, scaled once.
  for (int i = threadIdx.x; i < group * D; i += kThreads) {
    const int g = i / D, d = i % D;
    s_q[i] = __bfloat162float(a.q[static_cast<std::int64_t>(kvh * group + g) * D + d]) * a.scale;
  }

  float m[kHeadsPerWarp], l[kHeadsPerWarp], acc[kHeadsPerWarp][kDimsPerLane];
#pragma unroll
  for (int h = 0; h < kHeadsPerWarp; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[h][i] = 0.0f;
  }

  int stage = 0;
  for (std::int64_t t0 = k_lo; t0 < k_hi; t0 += kTile, stage ^= 1) {
    if (t0 + kTile < k_hi) {
      load_tile(stage ^ 1, t0 + kTile);  // the next tile flies while this one is computed
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();  // this tile (and s_q on the first pass) visible to every warp

    const bf16* kt = s_k[stage];
    const bf16* vt = s_v[stage];
    const bool key_ok = t0 + lane < k_hi;
#pragma unroll
    for (int h = 0; h < kHeadsPerWarp; ++h) {
      const int g = warp + h * kWarps;
      if (g >= group) break;  // warp-uniform
      // Score of key `lane` for head g: 16-byte reads of the K row, q broadcast.
      const float* qg = s_q + g * D;
      float s = 0.0f;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const uint4 raw = *reinterpret_cast<const uint4*>(kt + lane * kRow + c * 8);
        const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&raw);
        const float4 qa = *reinterpret_cast<const float4*>(qg + c * 8);
        const float4 qb = *reinterpret_cast<const float4*>(qg + c * 8 + 4);
        const float2 k01 = __bfloat1622float2(k2[0]), k23 = __bfloat1622float2(k2[1]);
        const float2 k45 = __bfloat1622float2(k2[2]), k67 = __bfloat1622float2(k2[3]);
        s += qa.x * k01.x + qa.y * k01.y + qa.z * k23.x + qa.w * k23.y + qb.x * k45.x +
             qb.y * k45.y + qb.z * k67.x + qb.w * k67.y;
      }
      s = key_ok ? s : -INFINITY;
      const float m_new = fmaxf(m[h], warp_max(s));
      // Every key of the tile masked (cannot happen inside [k_lo, k_hi)) keeps m = -inf.
      const float alpha = m_new == -INFINITY ? 1.0f : expf(m[h] - m_new);
      const float p = key_ok ? expf(s - m_new) : 0.0f;
      l[h] = l[h] * alpha + warp_sum(p);
      m[h] = m_new;
      s_p[g * kTile + lane] = p;
      __syncwarp();
      // acc += P . V for this lane's dims; V rows read as bf16 pairs.
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[h][i] *= alpha;
      const int n_keys = k_hi - t0 < kTile ? static_cast<int>(k_hi - t0) : kTile;
      for (int j = 0; j < n_keys; ++j) {
        const float pj = s_p[g * kTile + j];
        const bf16* vrow = vt + j * kRow + lane * kDimsPerLane;
#pragma unroll
        for (int i = 0; i < kDimsPerLane; i += 2) {
          const float2 v2 = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(vrow + i));
          acc[h][i] += pj * v2.x;
          acc[h][i + 1] += pj * v2.y;
        }
      }
      __syncwarp();  // s_p of head g is rewritten next tile
    }
    __syncthreads();  // the stage is reloaded two tiles from now: everyone is done reading it
  }

  // Unnormalised partials for attention_combine_kernel (n_q = 1).
#pragma unroll
  for (int h = 0; h < kHeadsPerWarp; ++h) {
    const int g = warp + h * kWarps;
    if (g >= group) break;
    const std::int64_t slot = static_cast<std::int64_t>(split) * a.n_head + kvh * group + g;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i)
      a.part_acc[slot * D + lane * kDimsPerLane + i] = acc[h][i];
    if (lane == 0) {
      a.part_ml[slot * 2] = m[h];
      a.part_ml[slot * 2 + 1] = l[h];
    }
  }
}

int sm_count() {
  static const int count = [] {
    int device = 0, n = 0;
    FS_CUDA_CHECK(cudaGetDevice(&device));
    FS_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

}  // namespace

FlashDecodeSplits flash_decode_splits(std::int64_t n_kv, int n_head, int n_head_kv, int head_dim,
                                      int sms, std::int64_t workspace_floats) {
  FS_CHECK(n_kv > 0 && n_head > 0 && n_head_kv > 0 && head_dim > 0 && sms > 0, kInvalidArgument,
           "flash decode: bad sizes (" << n_kv << " keys, " << n_head << "/" << n_head_kv
                                       << " heads, head_dim " << head_dim << ", " << sms
                                       << " SMs)");
  const std::int64_t tiles = (n_kv + kTile - 1) / kTile;
  // Enough blocks for kBlocksPerSm per SM, never a split without keys, never more than the
  // workspace holds.
  const std::int64_t by_workspace = workspace_floats / (std::int64_t{n_head} * (head_dim + 2));
  std::int64_t splits = (std::int64_t{sms} * kBlocksPerSm + n_head_kv - 1) / n_head_kv;
  splits = std::min({splits, tiles / kMinTilesPerSplit, by_workspace});
  FS_CHECK(splits >= 1, kInvalidArgument,
           "flash decode: a workspace of " << workspace_floats << " floats holds no split");
  FlashDecodeSplits p;
  const std::int64_t tiles_per_split = (tiles + splits - 1) / splits;
  p.keys_per_split = tiles_per_split * kTile;
  p.n_splits = static_cast<int>((n_kv + p.keys_per_split - 1) / p.keys_per_split);
  return p;
}

bool flash_decode_supports(int n_head, int n_head_kv, int head_dim) {
  return (head_dim == 32 || head_dim == 64 || head_dim == 128) && n_head_kv > 0 &&
         n_head % n_head_kv == 0 && n_head / n_head_kv <= kMaxGroup;
}

void launch_attention_flash_decode(const bf16* q, const bf16* k, const bf16* v,
                                   std::int64_t kv_stride, bf16* out, std::int64_t n_kv, int n_head,
                                   int n_head_kv, int head_dim, float* workspace,
                                   std::int64_t workspace_floats, cudaStream_t stream,
                                   const std::int32_t* n_kv_device) {
  using namespace attention_detail;
  FS_CHECK(flash_decode_supports(n_head, n_head_kv, head_dim), kUnsupported,
           "flash decode: head_dim "
               << head_dim << " with " << n_head << "/" << n_head_kv
               << " heads (supported: head_dim 32/64/128, group <= " << kMaxGroup << ")");
  // 16-byte cp.async: rows and head offsets 16-byte aligned.
  FS_CHECK(kv_stride % 8 == 0 && reinterpret_cast<std::uintptr_t>(k) % 16 == 0 &&
               reinterpret_cast<std::uintptr_t>(v) % 16 == 0 && workspace != nullptr,
           kInvalidArgument,
           "flash decode: K/V need 16-byte aligned rows (stride " << kv_stride << ")");
  const FlashDecodeSplits sp =
      flash_decode_splits(n_kv, n_head, n_head_kv, head_dim, sm_count(), workspace_floats);
  FlashArgs f{};
  f.q = q;
  f.q_stride = std::int64_t{n_head} * head_dim;
  f.k = k;
  f.v = v;
  f.kv_stride = kv_stride;
  f.n_head = n_head;
  f.n_head_kv = n_head_kv;
  f.scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  f.n_kv = n_kv;
  f.keys_per_split = sp.keys_per_split;
  f.n_kv_device = n_kv_device;
  f.part_acc = workspace;
  f.part_ml = workspace + static_cast<std::int64_t>(sp.n_splits) * n_head * head_dim;
  // The combine kernel's view: one query, n_splits partials per head.
  Args c = make_args(q, f.q_stride, k, v, kv_stride, out, f.q_stride, n_head, n_head_kv, head_dim);
  c.n_q = 1;
  c.n_splits = sp.n_splits;
  c.part_acc = f.part_acc;
  c.part_ml = f.part_ml;
  const dim3 grid(static_cast<unsigned>(sp.n_splits), static_cast<unsigned>(n_head_kv), 1);
  const bool ok = dispatch_head_dim(head_dim, [&]<int D>() {
    if constexpr (D >= 32) {
      flash_decode_kernel<D><<<grid, kThreads, 0, stream>>>(f);
      FS_CUDA_CHECK_LAUNCH();
      constexpr unsigned kCombineThreads = D < 128 ? D : 128;
      const unsigned heads = static_cast<unsigned>(n_head);
      attention_combine_kernel<D><<<heads, kCombineThreads, 0, stream>>>(c);
    }
  });
  FS_CHECK(ok, kUnsupported, "flash decode: head_dim " << head_dim);
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
