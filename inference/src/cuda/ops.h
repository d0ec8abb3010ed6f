// CUDA kernels of the Pixtral forward pass, one op per .cu file; this header declares their
// launchers and compiles without nvcc. Each op has a float32 reference in cpu/ops.h (or
// cpu/pixtral_cpu.h) and a test in tests/gpu/ against it.
//
// Conventions, the same for every launcher:
// - Kernels own nothing: device pointers in, device pointers out, sizes, a stream. Launchers
//   never allocate and never synchronise; they check the launch (FS_CUDA_CHECK_LAUNCH) and throw
//   framescribe::Error on bad arguments or a failed launch.
// - Row-major; weights are nn.Linear [out, in]; strides are in elements.
// - Activations: the residual stream is float32; GEMM inputs are bf16; every reduction and
//   every elementwise function is computed in float32 and rounded once on output.
// - RoPE uses the CPU engine's convention: interleaved pairs (2j, 2j+1) per head, i.e. the
//   native mistral-inference layout; Hugging Face q/k rows are un-permuted at load
//   (pixtral_weights.h, docs/pixtral.md 5.3).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace framescribe::inference::cuda {

using bf16 = __nv_bfloat16;

// --- normalisation (rms_norm.cu) ---------------------------------------------------------
// Per row of `dim`: if `residual_add` is given, x += residual_add first (written back to x);
// then y = w * x / sqrt(mean(x^2) + eps) (docs/pixtral.md 7.1), statistics in float32.
// y may alias x only in the float32 overload.
void launch_rms_norm(float* x, const float* residual_add, const bf16* w, std::int64_t rows,
                     std::int64_t dim, float eps, bf16* y, cudaStream_t stream);
void launch_rms_norm(float* x, const float* residual_add, const bf16* w, std::int64_t rows,
                     std::int64_t dim, float eps, float* y, cudaStream_t stream);

// --- rotary position embedding (rope.cu) -------------------------------------------------
// cos/sin tables, float2 {cos, sin} per rotation pair, angles computed in double on the device
// exactly as cpu::rope_1d_angles / cpu::rope_2d_angles do, then rounded to float32.
// 1-D: table[pos * hd/2 + j] for pos < n_pos (text, docs/pixtral.md 7.4).
void launch_rope_table_1d(float2* table, std::int64_t n_pos, int head_dim, double theta,
                          cudaStream_t stream);
// 2-D: table[(row * max_side + col) * hd/2 + k] (vision, docs/pixtral.md 2.4): pairs
// [0, hd/4) turn with the row at the even frequencies, [hd/4, hd/2) with the column at the odd.
void launch_rope_table_2d(float2* table, int max_side, int head_dim, double theta,
                          cudaStream_t stream);
// out[r, h*hd + 2j..2j+1] = rotate(in[r, h*hd + 2j..2j+1], table[p(r)][j]) for every head,
// where p(r) = positions ? positions[r] : pos0 + r. Rotation in float32, output rounded to
// bf16 (the q input of attention, or k written straight into the KV cache).
void launch_rope(const float* in, std::int64_t in_stride, bf16* out, std::int64_t out_stride,
                 std::int64_t rows, int n_heads, int head_dim, const float2* table,
                 const std::int32_t* positions, std::int64_t pos0, cudaStream_t stream);

// --- elementwise (convert.cu, silu_mul.cu, gelu_bias.cu) ---------------------------------
// out[r, c] = bf16(in[r, c]) for c < cols (v into the KV cache, the projector input).
void launch_f32_to_bf16(const float* in, std::int64_t in_stride, bf16* out, std::int64_t out_stride,
                        std::int64_t rows, std::int64_t cols, cudaStream_t stream);
// x[r, c] += bias[c]
void launch_add_bias(float* x, const bf16* bias, std::int64_t rows, std::int64_t cols,
                     cudaStream_t stream);
// out[r, i] = silu(gate_up[r, i]) * gate_up[r, n_ff + i], i < n_ff: the fused w1|w3 GEMM output
// [rows, 2 * n_ff] (gate first) into the w2 input [rows, n_ff].
void launch_silu_mul(const float* gate_up, std::int64_t rows, std::int64_t n_ff, bf16* out,
                     cudaStream_t stream);
// out[r, c] = gelu_erf(x[r, c] + bias[c]), the exact GELU of nn.GELU() (docs/pixtral.md 3.1).
void launch_gelu_bias(const float* x, const bf16* bias, std::int64_t rows, std::int64_t cols,
                      bf16* out, cudaStream_t stream);

// --- embeddings (embed.cu) -----------------------------------------------------------------
// out[i] = image_row[i] >= 0 ? images[image_row[i]] : table[tokens[i]], rows of n_embd floats
// (docs/pixtral.md 3.4: [IMG] positions take the projected patches in order).
void launch_embed(const std::int32_t* tokens, const std::int32_t* image_row, std::int64_t n,
                  const bf16* table, const float* images, std::int64_t n_embd, float* out,
                  cudaStream_t stream);

// --- patch embedding (patch_embed.cu) --------------------------------------------------------
// im2col for the stride = kernel = patch Conv2d: pixels [3, H, W] float32 (one image) into
// patches [(H/p)*(W/p), 3*p*p] bf16, row-major over the patch grid, each row in the conv
// weight's [c][ky][kx] order; a GEMM with the [n_embd, 3*p*p] weight finishes the conv.
void launch_im2col_patches(const float* pixels, int height_px, int width_px, int patch_px,
                           bf16* patches, cudaStream_t stream);

// --- attention (attention_vision.cu, attention_prefill.cu, attention_decode.cu) ----------------
// Scaled dot-product attention, online softmax in float32, bf16 in and out; head_dim 16, 32,
// 64 or 128. Query head h reads kv head h / (n_head / n_head_kv) (GQA, docs/pixtral.md 7.3).

// Vision: images concatenated on the token axis; seq_begin[n_seq + 1] (device, prefix offsets)
// delimits them; attention is non-causal inside each image and never crosses images
// (docs/pixtral.md 2.5). q/k/v/out rows share `stride`-free layouts [n, n_head*hd] with the
// given row strides. max_seq_len bounds the grid.
void launch_attention_vision(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                             std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                             const std::int32_t* seq_begin, int n_seq, int max_seq_len, int n_head,
                             int head_dim, cudaStream_t stream);

// Text, causal: n_q queries at absolute positions pos0.. attend to keys 0..pos0+i of the KV
// cache (k/v: [n_kv, n_head_kv*hd], n_kv = pos0 + n_q).
void launch_attention_prefill(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                              std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                              std::int64_t n_q, std::int64_t pos0, int n_head, int n_head_kv,
                              int head_dim, cudaStream_t stream);

// Text decode: the same as prefill, with the keys split over many blocks (few queries, long
// cache), then combined. `workspace` holds `workspace_floats` floats, at least
// attention_decode_workspace_floats(n_q, ...) (checked).
std::int64_t attention_decode_workspace_floats(std::int64_t n_q, int n_head, int head_dim);
void launch_attention_decode(const bf16* q, std::int64_t q_stride, const bf16* k, const bf16* v,
                             std::int64_t kv_stride, bf16* out, std::int64_t out_stride,
                             std::int64_t n_q, std::int64_t pos0, int n_head, int n_head_kv,
                             int head_dim, float* workspace, std::int64_t workspace_floats,
                             cudaStream_t stream);

// Flash decoding (attention_flash_decode.cu): one query (the last position) against keys
// 0..n_kv-1 of the cache, split over enough blocks to fill every SM; 4 warps per block,
// cp.async 16-byte loads, double-buffered tiles. q/out: one row [n_head*hd]; k/v rows 16-byte
// aligned. head_dim 32, 64 or 128 and at most 8 query heads per kv head (flash_decode_supports);
// launch_attention_decode uses it for n_q == 1 when supported.
struct FlashDecodeSplits {
  int n_splits = 1;
  std::int64_t keys_per_split = 0;  // a multiple of the 32-key tile
};
// The split plan for n_kv keys on `sms` SMs within `workspace_floats` (pure host arithmetic).
FlashDecodeSplits flash_decode_splits(std::int64_t n_kv, int n_head, int n_head_kv, int head_dim,
                                      int sms, std::int64_t workspace_floats);
bool flash_decode_supports(int n_head, int n_head_kv, int head_dim);
// n_kv_device (optional, device int32): the key count read at run time (a CUDA-graph decode
// step); n_kv is then the maximum, which sizes the grid.
void launch_attention_flash_decode(const bf16* q, const bf16* k, const bf16* v,
                                   std::int64_t kv_stride, bf16* out, std::int64_t n_kv, int n_head,
                                   int n_head_kv, int head_dim, float* workspace,
                                   std::int64_t workspace_floats, cudaStream_t stream,
                                   const std::int32_t* n_kv_device = nullptr);

// --- a decode step from device positions (decode_step.cu), for CUDA-graph replay ----------
// As launch_rope, the output row being positions[r] (k straight into its cache row).
void launch_rope_into_rows(const float* in, std::int64_t in_stride, bf16* out,
                           std::int64_t out_stride, std::int64_t rows, int n_heads, int head_dim,
                           const float2* table, const std::int32_t* positions, cudaStream_t stream);
// As launch_f32_to_bf16, the output row being out_rows[r] (v into its cache row).
void launch_f32_to_bf16_rows(const float* in, std::int64_t in_stride, bf16* out,
                             std::int64_t out_stride, std::int64_t rows, std::int64_t cols,
                             const std::int32_t* out_rows, cudaStream_t stream);
// lengths[0] = 1, lengths[1] = pos[0] + 1 (the cuDNN decode plan's sequence lengths).
void launch_decode_lengths(const std::int32_t* pos, std::int32_t* lengths, cudaStream_t stream);

// --- token selection (argmax.cu) ------------------------------------------------------------
// *out = index of the largest logit, the lowest index on ties; NaN never wins (as argmax()). The
// logit at `masked` reads as -inf (pass -1 to mask nothing): greedy decoding never picks the
// image token. Sampling with temperature > 0 stays on the host (README.md, "Sampling").
void launch_argmax(const float* logits, std::int64_t n, std::int64_t masked, std::int32_t* out,
                   cudaStream_t stream);

// --- weights (fill_random.cu) ---------------------------------------------------------------
// Dummy weights: p[i] = offset + scale * u(seed, i), u uniform in [-1, 1) from a counter hash,
// so the same seed gives the same weights on every device and run.
void launch_fill_uniform(bf16* p, std::int64_t n, std::uint64_t seed, float scale, float offset,
                         cudaStream_t stream);

}  // namespace framescribe::inference::cuda
