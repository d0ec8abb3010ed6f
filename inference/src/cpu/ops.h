// Float32 CPU kernels of the Pixtral forward pass. Each is the plain definition of the op,
// written to be read and to serve as the reference the CUDA kernels are tested against.
// Row-major everywhere; weights are nn.Linear [out, in].
#pragma once

#include <cstdint>

namespace framescribe::inference::cpu {

// y[m, n] = x[m, k] . w[n, k]^T (+ bias[n]). Threads over output columns.
void matmul_nt(const float* x, std::int64_t m, std::int64_t k, const float* w, std::int64_t n,
               const float* bias, float* y);

// y = w * (x / sqrt(mean(x^2) + eps)) per row of `dim` (docs/pixtral.md 7.1; the statistic in
// double, which is at least as precise as the fp32 reference). In-place allowed (y == x).
void rms_norm(const float* x, const float* w, std::int64_t rows, std::int64_t dim, float eps,
              float* y);

// Rotates interleaved pairs (2j, 2j+1) of every head of every row: x[r, h*hd + 2j..] by the
// angle whose cos/sin are cos_sin[r * hd + 2j] / [r * hd + 2j + 1] (hd/2 angles per row, the
// same for every head). docs/pixtral.md 2.4 and 7.4 (native complex-multiply form).
void apply_rope(float* x, std::int64_t rows, int n_heads, int head_dim, std::int64_t row_stride,
                const float* cos_sin);

// Scaled dot-product attention, fp32 softmax.
//   q [n_q, n_head*hd] (row stride q_stride), k/v [n_kv, n_head_kv*hd] (row stride kv_stride),
//   out [n_q, n_head*hd]. Query head h reads kv head h / (n_head / n_head_kv) (GQA).
//   causal: query i sits at absolute position q_pos0 + i and sees keys 0..q_pos0 + i.
void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
               std::int64_t kv_stride, std::int64_t n_q, std::int64_t n_kv, int n_head,
               int n_head_kv, int head_dim, bool causal, std::int64_t q_pos0, float* out);

// Causal attention of query rows over paged keys and values (batch_engine.h), with exactly the
// arithmetic of attention() above, key by key in position order: a row's output depends only on
// its query and its sequence's keys and values, never on the other rows or on how they are
// stored. Row r sits at position rows[r].pos and sees positions 0..pos of its sequence, whose
// position p lives in block k_blocks[p / block_tokens], slot p % block_tokens ([block_tokens,
// n_head_kv*hd] with row stride kv_stride; v_blocks likewise).
struct PagedRow {
  std::int64_t pos = 0;
  const float* const* k_blocks = nullptr;
  const float* const* v_blocks = nullptr;
};
void paged_attention(const float* q, std::int64_t q_stride, const PagedRow* rows,
                     std::int64_t n_rows, int block_tokens, std::int64_t kv_stride, int n_head,
                     int n_head_kv, int head_dim, float* out);

// gate[i] = silu(gate[i]) * up[i]
void silu_mul(float* gate, const float* up, std::int64_t n);
// x[i] = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU of nn.GELU()
void gelu_erf(float* x, std::int64_t n);
// y[i] += x[i]
void add_inplace(float* y, const float* x, std::int64_t n);

}  // namespace framescribe::inference::cpu
