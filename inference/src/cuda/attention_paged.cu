// Paged attention (issue 24, paged_kv.h): every packed row of a batch step attends to its own
// sequence's positions 0..its own, keys and values read through the sequence's block table.
// Decode rows and prefill chunks of many sequences run in one launch. The structure of
// attention_kernel (attention.cuh): one kv head per block, (row, head) items per warp, 64-key
// tiles in shared memory, online softmax in float32; optional split-K over the key range with
// attention_combine_kernel merging the partials. CUDA cores only; correct first.
// Status: compiled; NOT run on a GPU.
#include "cuda/attention.cuh"
#include "cuda/paged_kv.h"

namespace framescribe::inference::cuda {
namespace {

using attention_detail::kItemsPerWarp;
using attention_detail::kKeyTile;
using attention_detail::kMaxWarps;
static_assert(kMaxWarps * kItemsPerWarp == kPagedItemsPerTile && kItemsPerWarp == 4, "tile size");

// One 64-key tile for the first N items of a warp (N a constant, so s[][] and acc[][] stay in
// registers; items r >= n_ok see no key): scores, the online-softmax update, acc += P . V. As
// attention_kernel's loop body.
template <int kHeadDim, int N>
__device__ __forceinline__ void warp_tile(
    const float* __restrict__ my_q, float* __restrict__ my_p, const bf16* __restrict__ s_k,
    const bf16* __restrict__ s_v, int lane, std::int64_t t0, std::int64_t k_hi,
    const std::int64_t (&item_limit)[kItemsPerWarp], int n_ok, float scale,
    float (&m)[kItemsPerWarp], float (&l)[kItemsPerWarp],
    float (&acc)[kItemsPerWarp][(kHeadDim + kWarpSize - 1) / kWarpSize]) {
  constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
  constexpr int kKStride = kHeadDim + 4;
  float s[N][2];
#pragma unroll
  for (int r = 0; r < N; ++r) s[r][0] = s[r][1] = 0.0f;
  const uint2* krow0 = reinterpret_cast<const uint2*>(s_k + lane * kKStride);
  const uint2* krow1 = reinterpret_cast<const uint2*>(s_k + (lane + kWarpSize) * kKStride);
  for (int d4 = 0; d4 < kHeadDim / 4; ++d4) {
    float4 qv[N];
#pragma unroll
    for (int r = 0; r < N; ++r) qv[r] = reinterpret_cast<const float4*>(my_q + r * kHeadDim)[d4];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const uint2 raw = half == 0 ? krow0[d4] : krow1[d4];
      const float2 ka = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
      const float2 kb = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
#pragma unroll
      for (int r = 0; r < N; ++r)
        s[r][half] += qv[r].x * ka.x + qv[r].y * ka.y + qv[r].z * kb.x + qv[r].w * kb.y;
    }
  }

#pragma unroll
  for (int r = 0; r < N; ++r) {
    float p[2];
    float tile_max = -INFINITY;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const std::int64_t key = t0 + lane + half * kWarpSize;
      const bool visible = r < n_ok && key < k_hi && key <= item_limit[r];
      s[r][half] = visible ? s[r][half] * scale : -INFINITY;
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

  const int n_keys = static_cast<int>(k_hi - t0 < kKeyTile ? k_hi - t0 : kKeyTile);
  for (int j = 0; j < n_keys; ++j) {
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + i * kWarpSize;
      if (d < kHeadDim) {
        const float vj = __bfloat162float(s_v[j * kHeadDim + d]);
#pragma unroll
        for (int r = 0; r < N; ++r) acc[r][i] += my_p[r * kKeyTile + j] * vj;
      }
    }
  }
  __syncwarp();  // my_p is rewritten by the next tile
}

template <int kHeadDim>
__global__ void __launch_bounds__(kMaxWarps* kWarpSize)
    paged_attention_kernel(PagedAttentionArgs a, float scale) {
  constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
  constexpr int kKStride = kHeadDim + 4;  // as attention_kernel: conflict-free 64-bit reads
  __shared__ __align__(16) bf16 s_k[kKeyTile * kKStride];
  __shared__ __align__(16) bf16 s_v[kKeyTile * kHeadDim];
  __shared__ __align__(16) float s_q[kMaxWarps * kItemsPerWarp * kHeadDim];
  __shared__ float s_p[kMaxWarps * kItemsPerWarp * kKeyTile];
  static_assert(sizeof(s_k) + sizeof(s_v) + sizeof(s_q) + sizeof(s_p) <= 48 * 1024,
                "paged_attention_kernel: static shared memory over 48 KB");

  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int group = a.n_head / a.n_head_kv;
  const int kvh = blockIdx.y;
  const int split = blockIdx.z;
  const PagedPiece piece = a.pieces[a.tiles[2 * blockIdx.x]];
  const std::int64_t item0 = a.tiles[2 * blockIdx.x + 1];
  const std::int64_t n_items = std::int64_t{piece.rows} * group;
  const std::int64_t item_end = min(n_items, item0 + kPagedItemsPerTile);
  const std::int32_t* table = a.tables + piece.table_off;
  const int bt = a.block_tokens;

  // Keys of this block: its split, clipped by causality for its last row.
  std::int64_t k_lo = 0, k_hi = std::int64_t{piece.pos0} + (item_end - 1) / group + 1;
  if (a.splits.n_splits > 1) {
    k_lo = static_cast<std::int64_t>(split) * a.splits.keys_per_split;
    k_hi = min(k_hi, k_lo + a.splits.keys_per_split);
  }

  std::int64_t item_row[kItemsPerWarp], item_limit[kItemsPerWarp];
  int item_head[kItemsPerWarp];
  bool item_ok[kItemsPerWarp];
  float* my_q = s_q + warp * kItemsPerWarp * kHeadDim;
  float* my_p = s_p + warp * kItemsPerWarp * kKeyTile;
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    // Interleaved over warps: item r * kMaxWarps + warp, so few items spread over all warps.
    const std::int64_t item = item0 + (r * kMaxWarps + warp);
    item_ok[r] = item < item_end;
    const std::int64_t i = item_ok[r] ? item / group : 0;
    item_row[r] = piece.row0 + i;
    item_head[r] = kvh * group + static_cast<int>(item_ok[r] ? item % group : 0);
    item_limit[r] = piece.pos0 + i;
    const bf16* qrow = a.q + item_row[r] * a.q_stride + item_head[r] * kHeadDim;
    for (int d = lane; d < kHeadDim; d += kWarpSize)
      my_q[r * kHeadDim + d] = item_ok[r] ? __bfloat162float(qrow[d]) : 0.0f;
  }

  int n_ok = 0;  // the valid items are a prefix: r < n_ok
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) n_ok += item_ok[r] ? 1 : 0;

  float m[kItemsPerWarp], l[kItemsPerWarp], acc[kItemsPerWarp][kDimsPerLane];
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[r][i] = 0.0f;
  }

  const std::int64_t head_off = static_cast<std::int64_t>(kvh) * kHeadDim;
  for (std::int64_t t0 = k_lo; t0 < k_hi; t0 += kKeyTile) {
    __syncthreads();  // the previous tile is no longer read
    // Key t0 + j: slot table[key / bt] * bt + key % bt of this layer's pool. 16-byte loads,
    // a batch of a thread's issued before its stores (memory-level parallelism for decode).
    constexpr int kChunks = kHeadDim / 8;  // 16-byte chunks per row
    constexpr int kPerThread = kKeyTile * kChunks / (kMaxWarps * kWarpSize);
    static_assert(kPerThread >= 1 && kKeyTile * kChunks % (kMaxWarps * kWarpSize) == 0, "tile");
    // In batches of 4 (8 registers of uint4 live, not 16 at head_dim 128).
    constexpr int kBatch = kPerThread < 4 ? kPerThread : 4;
#pragma unroll
    for (int u0 = 0; u0 < kPerThread; u0 += kBatch) {
      uint4 kq[kBatch], vq[kBatch];
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        const int i = threadIdx.x + (u0 + u) * kMaxWarps * kWarpSize;
        const int j = i / kChunks, c = i % kChunks;
        const std::int64_t key = t0 + j;
        kq[u] = vq[u] = make_uint4(0u, 0u, 0u, 0u);
        if (key < k_hi) {
          const std::int64_t slot = std::int64_t{table[key / bt]} * bt + key % bt;
          const std::int64_t off = slot * a.kv_stride + head_off;
          kq[u] = reinterpret_cast<const uint4*>(a.k + off)[c];
          vq[u] = reinterpret_cast<const uint4*>(a.v + off)[c];
        }
      }
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        const int i = threadIdx.x + (u0 + u) * kMaxWarps * kWarpSize;
        const int j = i / kChunks, c = i % kChunks;
        // K rows are kHeadDim + 4 values apart: 8-byte aligned, so two 8-byte stores.
        uint2* ks = reinterpret_cast<uint2*>(s_k + j * kKStride + c * 8);
        ks[0] = make_uint2(kq[u].x, kq[u].y);
        ks[1] = make_uint2(kq[u].z, kq[u].w);
        reinterpret_cast<uint4*>(s_v + j * kHeadDim)[c] = vq[u];
      }
    }
    __syncthreads();

    // A warp with one valid item computes one (a decode piece has `group` items, one per warp,
    // instead of four in one warp while three idle); otherwise all four, the invalid masked.
    if (n_ok == 1) {
      warp_tile<kHeadDim, 1>(my_q, my_p, s_k, s_v, lane, t0, k_hi, item_limit, n_ok, scale, m, l,
                             acc);
    } else if (n_ok > 1) {
      warp_tile<kHeadDim, kItemsPerWarp>(my_q, my_p, s_k, s_v, lane, t0, k_hi, item_limit, n_ok,
                                         scale, m, l, acc);
    }
  }

  // A split past a row's keys saw nothing: it still writes its (0, -inf, 0) partial.
#pragma unroll
  for (int r = 0; r < kItemsPerWarp; ++r) {
    if (!item_ok[r]) continue;
    if (a.splits.n_splits == 1) {
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      bf16* orow = a.out + item_row[r] * a.out_stride + item_head[r] * kHeadDim;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + i * kWarpSize;
        if (d < kHeadDim) orow[d] = __float2bfloat16_rn(acc[r][i] * inv);
      }
    } else {
      const std::int64_t slot =
          (static_cast<std::int64_t>(split) * a.n_rows + item_row[r]) * a.n_head + item_head[r];
      float* part_acc = a.workspace;
      float* part_ml = a.workspace + a.splits.n_splits * a.n_rows * a.n_head * kHeadDim;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + i * kWarpSize;
        if (d < kHeadDim) part_acc[slot * kHeadDim + d] = acc[r][i];
      }
      if (lane == 0) {
        part_ml[slot * 2] = m[r];
        part_ml[slot * 2 + 1] = l[r];
      }
    }
  }
}

}  // namespace

void launch_paged_attention(const PagedAttentionArgs& a, cudaStream_t stream) {
  using namespace attention_detail;
  FS_CHECK(a.n_head > 0 && a.n_head_kv > 0 && a.n_head % a.n_head_kv == 0 && a.n_head_kv <= 65535 &&
               a.block_tokens > 0 && a.n_rows >= 0 && a.n_tiles >= 0 && a.n_tiles <= 0x7fffffff,
           kInvalidArgument,
           "paged attention: bad sizes (" << a.n_head << "/" << a.n_head_kv << " heads, blocks of "
                                          << a.block_tokens << ", " << a.n_rows << " rows, "
                                          << a.n_tiles << " tiles)");
  // K and V rows are read in 16-byte chunks.
  FS_CHECK(a.kv_stride % 8 == 0 && reinterpret_cast<std::uintptr_t>(a.k) % 16 == 0 &&
               reinterpret_cast<std::uintptr_t>(a.v) % 16 == 0,
           kInvalidArgument,
           "paged attention: K/V need a row stride of a multiple of 8 values and 16-byte "
           "alignment (stride "
               << a.kv_stride << ")");
  const int n_splits = a.splits.n_splits;
  FS_CHECK(n_splits >= 1 && n_splits <= 65535 && (n_splits == 1 || a.splits.keys_per_split > 0),
           kInvalidArgument, "paged attention: " << n_splits << " splits");
  const std::int64_t need =
      n_splits == 1 ? 0 : std::int64_t{n_splits} * a.n_rows * a.n_head * (a.head_dim + 2);
  FS_CHECK(
      need <= a.workspace_floats && (need == 0 || a.workspace != nullptr), kInvalidArgument,
      "paged attention: workspace of " << a.workspace_floats << " floats (needs " << need << ")");
  if (a.n_rows == 0 || a.n_tiles == 0) return;
  const float scale = 1.0f / sqrtf(static_cast<float>(a.head_dim));
  const dim3 grid(static_cast<unsigned>(a.n_tiles), static_cast<unsigned>(a.n_head_kv),
                  static_cast<unsigned>(n_splits));
  const bool ok = dispatch_head_dim(a.head_dim, [&]<int D>() {
    paged_attention_kernel<D><<<grid, kMaxWarps * kWarpSize, 0, stream>>>(a, scale);
    if (n_splits > 1) {
      FS_CUDA_CHECK_LAUNCH();
      // The merge of attention.cuh, over every (row, head) of the step.
      Args c{};
      c.out = a.out;
      c.out_stride = a.out_stride;
      c.n_head = a.n_head;
      c.n_q = a.n_rows;
      c.n_splits = n_splits;
      c.part_acc = a.workspace;
      c.part_ml = a.workspace + std::int64_t{n_splits} * a.n_rows * a.n_head * D;
      const std::int64_t slots = a.n_rows * a.n_head;
      FS_CHECK(slots <= 0x7fffffff, kInvalidArgument, "paged attention: too many rows");
      const unsigned threads = D < 128 ? D : 128;
      attention_combine_kernel<D><<<static_cast<unsigned>(slots), threads, 0, stream>>>(c);
    }
  });
  FS_CHECK(ok, kUnsupported,
           "paged attention: head_dim " << a.head_dim << " (supported: 16, 32, 64, 128)");
  FS_CUDA_CHECK_LAUNCH();
}

}  // namespace framescribe::inference::cuda
