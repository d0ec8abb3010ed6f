// The paged-KV kernels of the CUDA batch engine (issue 24; cuda_batch_engine.h): RoPE of k
// written into a KV slot, v into its slot, copy-on-write block copies, a row gather for the
// logits rows, and paged attention over per-sequence block tables. Compiles without nvcc.
// Status: compiled (nvcc, sm_90a); NOT run on a GPU.
//
// KV pool layout (per K and per V): [n_layer][n_blocks][block_tokens][kvd] bf16, so one layer of
// one block is block_tokens * kvd contiguous values and position p of a sequence whose table is
// `tab` sits in slot tab[p / block_tokens] * block_tokens + p % block_tokens of its layer.
//
//   launch_rope_to_slots(qkv + qd, qkv_dim, k_layer, kvd, rows, n_head_kv, hd, rope, pos, slot, s);
//   launch_f32_to_bf16_rows(qkv + qd + kvd, qkv_dim, v_layer, kvd, rows, kvd, slot, s);  // ops.h
//   PagedAttentionArgs a{...};  // q, k/v layer bases, pieces, tiles, tables, splits
//   launch_paged_attention(a, s);
//
// Rules: launchers check their arguments on the host (Error(kInvalidArgument) or kUnsupported)
// and never allocate or synchronise (ops.h conventions). Device index arrays are int32: the
// engine refuses pools of 2^31 slots or more. Thread-safety: none needed (stateless).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cuda/ops.h"

namespace framescribe::inference::cuda {

// out[slots[r] * out_stride + ...] = rope(in[r], table[positions[r]]) for every head (the
// rotation of launch_rope, the output row chosen by `slots`, the angle by `positions`).
void launch_rope_to_slots(const float* in, std::int64_t in_stride, bf16* out,
                          std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                          const float2* table, const std::int32_t* positions,
                          const std::int32_t* slots, cudaStream_t stream);

// For every pair (src, dst) of `pairs` ([n_copies * 2] int32, device) and every layer: K and V
// of block src copied into block dst (block_elems = block_tokens * kvd values, a multiple of 8).
void launch_copy_kv_blocks(bf16* k_pool, bf16* v_pool, const std::int32_t* pairs, int n_copies,
                           int n_layer, std::int64_t n_blocks, std::int64_t block_elems,
                           cudaStream_t stream);

// out[i] = x[idx[i]], rows of `dim` floats, i < n.
void launch_gather_rows(const float* x, std::int64_t dim, const std::int32_t* idx, std::int64_t n,
                        float* out, cudaStream_t stream);

// A piece: consecutive packed rows of one sequence. Row row0 + i sits at position pos0 + i and
// sees positions 0..pos0 + i of its sequence through the block table at tables[table_off...].
struct PagedPiece {
  std::int32_t row0 = 0, rows = 0, pos0 = 0, table_off = 0;
};
// Items (row, query head of one kv head) per attention block: 4 warps x 4 items.
inline constexpr int kPagedItemsPerTile = 16;
// The tiles of `pieces`: pairs (piece, first item), items = rows * group per piece.
std::vector<std::int32_t> paged_tiles(std::span<const PagedPiece> pieces, int group);

struct PagedSplits {
  int n_splits = 1;
  std::int64_t keys_per_split = 0;  // 0 when n_splits == 1 (the whole range)
};
// Splits of the key range so that tiles x kv heads x splits fills `sms` SMs ~4 blocks deep,
// at least 256 keys (a multiple of the 64-key tile) per split, at most 128 splits, and the
// partials of every row within `workspace_floats` (n_splits * rows * n_head * (hd + 2)).
PagedSplits paged_attention_splits(std::int64_t n_tiles, int n_head_kv, std::int64_t max_keys,
                                   std::int64_t n_rows, int n_head, int head_dim, int sms,
                                   std::int64_t workspace_floats);

struct PagedAttentionArgs {
  const bf16* q = nullptr;  // [n_rows, n_head * hd], row stride q_stride
  std::int64_t q_stride = 0;
  const bf16* k = nullptr;  // this layer's K pool: [n_blocks * block_tokens, kvd]
  const bf16* v = nullptr;
  std::int64_t kv_stride = 0;  // kvd
  bf16* out = nullptr;         // [n_rows, n_head * hd]
  std::int64_t out_stride = 0;
  int n_head = 0, n_head_kv = 0, head_dim = 0, block_tokens = 0;
  std::int64_t n_rows = 0;
  const PagedPiece* pieces = nullptr;   // device
  const std::int32_t* tiles = nullptr;  // device, [n_tiles * 2]
  std::int64_t n_tiles = 0;
  const std::int32_t* tables = nullptr;  // device
  PagedSplits splits;
  float* workspace = nullptr;  // partials when splits.n_splits > 1
  std::int64_t workspace_floats = 0;
};
void launch_paged_attention(const PagedAttentionArgs& a, cudaStream_t stream);

}  // namespace framescribe::inference::cuda
