// The one attention kernel behind the three launchers (vision, text prefill, text decode):
// tiled over keys with an online softmax in float32 (the flash-attention recurrence), bf16 in
// and out, CUDA cores only. Correctness first; tensor cores are the next issue's work.
//
// Work decomposition. For one kv head and one sequence, an "item" is a (query, query head)
// pair: item = qi * group + hg, with query head kvh * group + hg. All items of a block share the
// kv head, so each K/V tile loaded into shared memory serves `group` query heads (GQA). A warp
// owns kItemsPerWarp items; lane l holds output dims l, l + 32, ... of each.
//
// Grid: x = item tiles, y = kv heads, z = sequence * n_splits + split. Sequences (vision
// images) come from prefix offsets; keys may be split across blocks (decode), each split then
// writes an unnormalised partial (acc, max, sum) that attention_combine_kernel merges.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "cuda/common.cuh"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda::attention_detail {

constexpr int kKeyTile = 64;      // keys per shared-memory tile
constexpr int kItemsPerWarp = 4;  // (query, head) items per warp

struct Args {
  const bf16* q;
  std::int64_t q_stride;
  const bf16* k;
  const bf16* v;
  std::int64_t kv_stride;
  bf16* out;
  std::int64_t out_stride;
  int n_head, n_head_kv;
  float scale;
  // Sequences: seq_begin == nullptr means one sequence of n_q queries and n_kv keys at row 0;
  // otherwise sequence s is rows [seq_begin[s], seq_begin[s+1]) of q, k and v alike (vision).
  const std::int32_t* seq_begin;
  std::int64_t n_q, n_kv;
  bool causal;
  std::int64_t pos0;  // query i sits at key position pos0 + i (causal only)
  // Split keys (single sequence only): split s covers keys [s * keys_per_split, ...).
  int n_splits;
  std::int64_t keys_per_split;
  float* part_acc;  // [n_splits, n_q * n_head, head_dim]
  float* part_ml;   // [n_splits, n_q * n_head, 2]: running max and sum
};

// The fields every launcher sets the same way: operands, heads and the 1/sqrt(head_dim) scale.
// The rest (sequences, causality, splits) is each launcher's own.
inline Args make_args(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                      std::int64_t kv_stride, bf16* out, std::int64_t out_stride, int n_head,
                      int n_head_kv, int head_dim) {
  // K and V rows are read as bf16 pairs (4-byte loads): an odd stride or pointer would fault.
  FS_CHECK(
      kv_stride % 2 == 0 && (reinterpret_cast<std::uintptr_t>(k) % 4) == 0 &&
          (reinterpret_cast<std::uintptr_t>(v) % 4) == 0,
      kInvalidArgument,
      "attention: K/V need an even row stride and 4-byte alignment (stride " << kv_stride << ")");
  FS_CHECK(n_head > 0 && n_head <= 65535 && n_head_kv > 0 && n_head % n_head_kv == 0,
           kInvalidArgument, "attention: " << n_head << " heads over " << n_head_kv << " kv heads");
  Args a{};
  a.q = q;
  a.q_stride = q_stride;
  a.k = k;
  a.v = v;
  a.kv_stride = kv_stride;
  a.out = out;
  a.out_stride = out_stride;
  a.n_head = n_head;
  a.n_head_kv = n_head_kv;
  a.scale = 1.0f / sqrtf(static_cast<float>(head_dim));
  a.n_splits = 1;
  return a;
}

// Text attention (prefill and decode): one causal sequence of n_q queries after pos0 cached
// positions, GQA with n_head / n_head_kv query heads per key/value head. Throws on bad sizes.
inline Args make_causal_args(const char* what, const bf16* q, std::int64_t q_stride, const bf16* k,
                             const bf16* v, std::int64_t kv_stride, bf16* out,
                             std::int64_t out_stride, std::int64_t n_q, std::int64_t pos0,
                             int n_head, int n_head_kv, int head_dim) {
  FS_CHECK(n_q >= 0 && pos0 >= 0 && n_head > 0 && n_head_kv > 0 && n_head % n_head_kv == 0 &&
               n_head_kv <= 65535,
           kInvalidArgument,
           what << " attention: bad sizes (" << n_q << " queries at " << pos0 << ", " << n_head
                << "/" << n_head_kv << " heads)");
  Args a = make_args(q, q_stride, k, v, kv_stride, out, out_stride, n_head, n_head_kv, head_dim);
  a.n_q = n_q;
  a.n_kv = pos0 + n_q;
  a.causal = true;
  a.pos0 = pos0;
  return a;
}

// At most kMaxWarps warps per block (the shared arrays below are sized for them).
constexpr int kMaxWarps = 4;

template <int kHeadDim>
__global__ void __launch_bounds__(kMaxWarps* kWarpSize) attention_kernel(Args a) {
  constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
  // bf16s per K row: 8-byte aligned rows whose word stride is 2 mod 32, so the 64-bit reads of
  // a half-warp (lane j reads row j) hit 32 distinct banks.
  constexpr int kKStride = kHeadDim + 4;
  __shared__ __align__(16) bf16 s_k[kKeyTile * kKStride];
  __shared__ __align__(16) bf16 s_v[kKeyTile * kHeadDim];
  __shared__ __align__(16) float s_q[kMaxWarps * kItemsPerWarp * kHeadDim];
  __shared__ float s_p[kMaxWarps * kItemsPerWarp * kKeyTile];
  // Static shared memory is limited to 48 KB per block (more needs dynamic shared memory and
  // cudaFuncSetAttribute): a launch above it fails on every card.
  static_assert(sizeof(s_k) + sizeof(s_v) + sizeof(s_q) + sizeof(s_p) <= 48 * 1024,
                "attention_kernel: static shared memory over 48 KB");

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int n_warps = blockDim.x / kWarpSize;
  const int group = a.n_head / a.n_head_kv;
  const int kvh = blockIdx.y;
  const int split = blockIdx.z % a.n_splits;
  const int seq = blockIdx.z / a.n_splits;

  std::int64_t row0 = 0, len_q = a.n_q, len_kv = a.n_kv;
  if (a.seq_begin != nullptr) {
    row0 = a.seq_begin[seq];
    len_q = len_kv = a.seq_begin[seq + 1] - row0;
  }
  const std::int64_t n_items = len_q * group;
  const std::int64_t block_item0 = static_cast<std::int64_t>(blockIdx.x) * n_warps * kItemsPerWarp;
  if (block_item0 >= n_items) return;  // a smaller image than the grid was sized for
  const std::int64_t block_item_end =
      min(n_items, block_item0 + static_cast<std::int64_t>(n_warps) * kItemsPerWarp);

  // Keys this block must visit: its split, clipped by causality for its last query.
  std::int64_t k_lo = 0, k_hi = len_kv;
  if (a.n_splits > 1) {
    k_lo = static_cast<std::int64_t>(split) * a.keys_per_split;
    k_hi = min(len_kv, k_lo + a.keys_per_split);
  }
  if (a.causal) k_hi = min(k_hi, a.pos0 + (block_item_end - 1) / group + 1);

  // This warp's items: query row, head, causal limit (the last key it may see).
  std::int64_t item_q[kItemsPerWarp], item_limit[kItemsPerWarp];
  int item_head[kItemsPerWarp];
  bool item_ok[kItemsPerWarp];
  float* my_q = s_q + warp * kItemsPerWarp * kHeadDim;
  float* my_p = s_p + warp * kItemsPerWarp * kKeyTile;
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    const std::int64_t item = block_item0 + (warp * kItemsPerWarp + r);
    item_ok[r] = item < n_items;
    item_q[r] = item_ok[r] ? item / group : 0;
    item_head[r] = kvh * group + static_cast<int>(item_ok[r] ? item % group : 0);
    item_limit[r] = a.causal ? a.pos0 + item_q[r] : len_kv - 1;
    const bf16* qrow = a.q + (row0 + item_q[r]) * a.q_stride + item_head[r] * kHeadDim;
    for (int d = lane; d < kHeadDim; d += kWarpSize)
      my_q[r * kHeadDim + d] = item_ok[r] ? __bfloat162float(qrow[d]) : 0.0f;
  }

  // my_q is read by every lane of the warp only after the __syncthreads at the top of the
  // first key tile.
  float m[kItemsPerWarp], l[kItemsPerWarp], acc[kItemsPerWarp][kDimsPerLane];
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] = 0.0f;
  }

  const bf16* k_base = a.k + row0 * a.kv_stride + static_cast<std::int64_t>(kvh) * kHeadDim;
  const bf16* v_base = a.v + row0 * a.kv_stride + static_cast<std::int64_t>(kvh) * kHeadDim;
  for (std::int64_t t0 = k_lo; t0 < k_hi; t0 += kKeyTile) {
    __syncthreads();  // the previous tile is no longer read
    // Load K and V rows t0..t0+63 as bf16 pairs (head_dim is even); rows past k_hi are zeros.
    constexpr int kPairs = kHeadDim / 2;
    for (int i = threadIdx.x; i < kKeyTile * kPairs; i += blockDim.x) {
      const int j = i / kPairs, d2 = i % kPairs;
      __nv_bfloat162 kv2 = __floats2bfloat162_rn(0.0f, 0.0f), vv2 = kv2;
      if (t0 + j < k_hi) {
        kv2 = reinterpret_cast<const __nv_bfloat162*>(k_base + (t0 + j) * a.kv_stride)[d2];
        vv2 = reinterpret_cast<const __nv_bfloat162*>(v_base + (t0 + j) * a.kv_stride)[d2];
      }
      reinterpret_cast<__nv_bfloat162*>(s_k + j * kKStride)[d2] = kv2;
      reinterpret_cast<__nv_bfloat162*>(s_v + j * kHeadDim)[d2] = vv2;
    }
    __syncthreads();

    // Scores: lane handles keys lane and lane + 32 of the tile for each of the warp's items.
    float s[kItemsPerWarp][2];
#pragma unroll
    for (int r = 0; r < kItemsPerWarp; ++r) s[r][0] = s[r][1] = 0.0f;
    // Four dims per step: one 128-bit broadcast read of q per item and one 64-bit read of K per
    // key serve 32 multiply-adds (reading q a float at a time made this loop shared-memory
    // bound).
    const uint2* krow0 = reinterpret_cast<const uint2*>(s_k + lane * kKStride);
    const uint2* krow1 = reinterpret_cast<const uint2*>(s_k + (lane + kWarpSize) * kKStride);
    for (int d4 = 0; d4 < kHeadDim / 4; ++d4) {
      float4 qv[kItemsPerWarp];
#pragma unroll
      for (int r = 0; r < kItemsPerWarp; ++r)
        qv[r] = reinterpret_cast<const float4*>(my_q + r * kHeadDim)[d4];
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const uint2 raw = half == 0 ? krow0[d4] : krow1[d4];
        const float2 ka = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
        const float2 kb = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
#pragma unroll
        for (int r = 0; r < kItemsPerWarp; ++r)
          s[r][half] += qv[r].x * ka.x + qv[r].y * ka.y + qv[r].z * kb.x + qv[r].w * kb.y;
      }
    }

    // Online softmax update per item; masked keys get probability 0.
#pragma unroll
    for (int r = 0; r < kItemsPerWarp; ++r) {
      float p[2];
      float tile_max = -INFINITY;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const std::int64_t key = t0 + lane + half * kWarpSize;
        const bool visible = item_ok[r] && key < k_hi && key <= item_limit[r];
        s[r][half] = visible ? s[r][half] * a.scale : -INFINITY;
        tile_max = fmaxf(tile_max, s[r][half]);
      }
      tile_max = warp_max(tile_max);
      const float m_new = fmaxf(m[r], tile_max);
      // All keys so far masked: nothing to add (and exp(-inf - -inf) would be NaN).
      const float alpha = m_new == -INFINITY ? 1.0f : expf(m[r] - m_new);
#pragma unroll
      for (int half = 0; half < 2; ++half)
        p[half] = s[r][half] == -INFINITY ? 0.0f : expf(s[r][half] - m_new);
      l[r] = l[r] * alpha + warp_sum(p[0] + p[1]);
      m[r] = m_new;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] *= alpha;
      my_p[r * kKeyTile + lane] = p[0];
      my_p[r * kKeyTile + lane + kWarpSize] = p[1];
    }
    __syncwarp();

    // acc += P . V: each V element read from shared memory serves all of the warp's items.
    const int n_keys = static_cast<int>(k_hi - t0 < kKeyTile ? k_hi - t0 : kKeyTile);
    for (int j = 0; j < n_keys; ++j) {
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + i * kWarpSize;
        if (d < kHeadDim) {
          const float vj = __bfloat162float(s_v[j * kHeadDim + d]);
#pragma unroll
          for (int r = 0; r < kItemsPerWarp; ++r) acc[r][i] += my_p[r * kKeyTile + j] * vj;
        }
      }
    }
    __syncwarp();  // my_p is rewritten by the next tile
  }

#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    if (!item_ok[r]) continue;
    const std::int64_t qrow = row0 + item_q[r];
    if (a.n_splits == 1) {
      // l > 0 always: every query sees at least its own key (causal) or the whole image.
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      bf16* orow = a.out + qrow * a.out_stride + item_head[r] * kHeadDim;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + i * kWarpSize;
        if (d < kHeadDim) orow[d] = __float2bfloat16_rn(acc[r][i] * inv);
      }
    } else {
      const std::int64_t slot =
          (static_cast<std::int64_t>(split) * a.n_q + item_q[r]) * a.n_head + item_head[r];
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + i * kWarpSize;
        if (d < kHeadDim) a.part_acc[slot * kHeadDim + d] = acc[r][i];
      }
      if (lane == 0) {
        a.part_ml[slot * 2] = m[r];
        a.part_ml[slot * 2 + 1] = l[r];
      }
    }
  }
}

// Merges the splits of one (query, head) per block: out = sum_s acc_s e^(m_s - M) / sum_s l_s
// e^(m_s - M). A split that saw no visible key has m = -inf, l = 0 and contributes nothing.
template <int kHeadDim>
__global__ void __launch_bounds__(128) attention_combine_kernel(Args a) {
  const std::int64_t qi = blockIdx.x / a.n_head;
  const int h = static_cast<int>(blockIdx.x % a.n_head);
  const std::int64_t n_slots = a.n_q * a.n_head;
  const std::int64_t slot = qi * a.n_head + h;
  float big_m = -INFINITY;
  for (int s = 0; s < a.n_splits; ++s) big_m = fmaxf(big_m, a.part_ml[(s * n_slots + slot) * 2]);
  float denom = 0.0f;
  for (int s = 0; s < a.n_splits; ++s) {
    const float ms = a.part_ml[(s * n_slots + slot) * 2];
    if (ms != -INFINITY) denom += a.part_ml[(s * n_slots + slot) * 2 + 1] * expf(ms - big_m);
  }
  const float inv = denom > 0.0f ? 1.0f / denom : 0.0f;
  for (int d = threadIdx.x; d < kHeadDim; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < a.n_splits; ++s) {
      const float ms = a.part_ml[(s * n_slots + slot) * 2];
      if (ms != -INFINITY) o += a.part_acc[(s * n_slots + slot) * kHeadDim + d] * expf(ms - big_m);
    }
    a.out[qi * a.out_stride + static_cast<std::int64_t>(h) * kHeadDim + d] =
        __float2bfloat16_rn(o * inv);
  }
}

// Calls f.template operator()<D>() for the supported head sizes; false for others.
template <typename F>
bool dispatch_head_dim(int head_dim, F&& f) {
  switch (head_dim) {
    case 16:
      f.template operator()<16>();
      return true;
    case 32:
      f.template operator()<32>();
      return true;
    case 64:
      f.template operator()<64>();
      return true;
    case 128:
      f.template operator()<128>();
      return true;
    default:
      return false;
  }
}

}  // namespace framescribe::inference::cuda::attention_detail
