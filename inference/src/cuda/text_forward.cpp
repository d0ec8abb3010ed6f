// Mistral (NeMo-12B) text decoder on the GPU, one prefill chunk or decode step at a time.
// Same computation as cpu/text_decoder.cpp (mistral-inference transformer.py, commit 2557e12d;
// docs/pixtral.md section 7) with bf16 weights and GEMM inputs, float32 residual stream and
// accumulation. The residual adds are fused into the wo and w2 GEMMs (beta = 1).
#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/cuda_engine.h"
#include "cuda/cudnn_text_attention.h"
#include "cuda/ops.h"

namespace framescribe::inference::cuda {

void CudaEngine::forward_chunk(std::int64_t n, std::int64_t pos0) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, hd = t.head_dim, ff = t.n_ff;
  const std::int64_t qd = std::int64_t{t.n_head} * hd, kvd = std::int64_t{t.n_head_kv} * hd;
  const std::int64_t qkv_dim = qd + 2 * kvd;
  cudaStream_t s = stream_.get();
  // cuDNN (when the load-time plan kept it): one query on the decode plan, more on the
  // prefill plan; both read this chunk's lengths from device memory.
  const bool cudnn_decode = cudnn_ && n == 1 && cudnn_->decode_on_cudnn();
  const bool cudnn_prefill = cudnn_ && n > 1 && cudnn_->prefill_on_cudnn();
  if (cudnn_decode || cudnn_prefill) cudnn_->set_lengths(n, pos0, s);
  for (int l = 0; l < t.n_layer; ++l) {
    const DeviceBlock& b = weights_.text[static_cast<std::size_t>(l)];
    bf16* k_layer = k_cache_ + std::int64_t{l} * max_context_ * kvd;
    bf16* v_layer = v_cache_ + std::int64_t{l} * max_context_ * kvd;

    // Attention: q, k, v in one GEMM; RoPE on q and k (k and v go straight into the cache at
    // positions pos0..pos0+n-1); causal over the whole cache, no sliding window.
    launch_rms_norm(text_.x, nullptr, b.attention_norm, n, d, t.norm_eps, text_.h, s);
    gemm_->matmul_nt(text_.h, d, b.wqkv, n, qkv_dim, d, text_.qkv, GemmOut::kF32, qkv_dim, 0.0f);
    launch_rope(text_.qkv, qkv_dim, text_.q, qd, n, t.n_head, t.head_dim, rope_text_, nullptr, pos0,
                s);
    launch_rope(text_.qkv + qd, qkv_dim, k_layer + pos0 * kvd, kvd, n, t.n_head_kv, t.head_dim,
                rope_text_, nullptr, pos0, s);
    launch_f32_to_bf16(text_.qkv + qd + kvd, qkv_dim, v_layer + pos0 * kvd, kvd, n, kvd, s);
    if (cudnn_decode) {
      cudnn_->decode(text_.q, k_layer, v_layer, text_.h);
    } else if (cudnn_prefill) {
      cudnn_->prefill(text_.q, k_layer, v_layer, text_.h);
    } else if (n <= kDecodeMaxQueries) {
      launch_attention_decode(
          text_.q, qd, k_layer, v_layer, kvd, text_.h, qd, n, pos0, t.n_head, t.n_head_kv,
          t.head_dim, text_.attn_workspace,
          attention_decode_workspace_floats(kDecodeMaxQueries, t.n_head, t.head_dim), s);
    } else {
      launch_attention_prefill(text_.q, qd, k_layer, v_layer, kvd, text_.h, qd, n, pos0, t.n_head,
                               t.n_head_kv, t.head_dim, s);
    }
    gemm_->matmul_nt(text_.h, qd, b.wo, n, d, qd, text_.x, GemmOut::kF32, d, 1.0f);

    // SiLU-gated FFN: w2(silu(w1 h) * w3 h), w1|w3 fused.
    launch_rms_norm(text_.x, nullptr, b.ffn_norm, n, d, t.norm_eps, text_.h, s);
    gemm_->matmul_nt(text_.h, d, b.w13, n, 2 * ff, d, text_.gate_up, GemmOut::kF32, 2 * ff, 0.0f);
    launch_silu_mul(text_.gate_up, n, ff, text_.h, s);
    gemm_->matmul_nt(text_.h, ff, b.w2, n, d, ff, text_.x, GemmOut::kF32, d, 1.0f);
  }
}

bool CudaEngine::decode_step_device_possible() const {
  const TextConfig& t = config_.text;
  return (cudnn_ && cudnn_->decode_on_cudnn()) ||
         flash_decode_supports(t.n_head, t.n_head_kv, t.head_dim);
}

void CudaEngine::decode_step_device() {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, ff = t.n_ff;
  const std::int64_t qd = std::int64_t{t.n_head} * t.head_dim;
  const std::int64_t kvd = std::int64_t{t.n_head_kv} * t.head_dim;
  const std::int64_t qkv_dim = qd + 2 * kvd;
  const bool on_cudnn = cudnn_ && cudnn_->decode_on_cudnn();
  cudaStream_t s = stream_.get();
  launch_embed(text_.tokens, text_.image_row, 1, weights_.tok_embeddings, text_.images, d, text_.x,
               s);
  if (on_cudnn) cudnn_->set_lengths_from_device(step_, s);
  for (int l = 0; l < t.n_layer; ++l) {
    const DeviceBlock& b = weights_.text[static_cast<std::size_t>(l)];
    bf16* k_layer = k_cache_ + std::int64_t{l} * max_context_ * kvd;
    bf16* v_layer = v_cache_ + std::int64_t{l} * max_context_ * kvd;
    launch_rms_norm(text_.x, nullptr, b.attention_norm, 1, d, t.norm_eps, text_.h, s);
    gemm_->matmul_nt(text_.h, d, b.wqkv, 1, qkv_dim, d, text_.qkv, GemmOut::kF32, qkv_dim, 0.0f);
    launch_rope(text_.qkv, qkv_dim, text_.q, qd, 1, t.n_head, t.head_dim, rope_text_, step_, 0, s);
    launch_rope_into_rows(text_.qkv + qd, qkv_dim, k_layer, kvd, 1, t.n_head_kv, t.head_dim,
                          rope_text_, step_, s);
    launch_f32_to_bf16_rows(text_.qkv + qd + kvd, qkv_dim, v_layer, kvd, 1, kvd, step_, s);
    if (on_cudnn) {
      cudnn_->decode(text_.q, k_layer, v_layer, text_.h);
    } else {
      launch_attention_flash_decode(
          text_.q, k_layer, v_layer, kvd, text_.h, max_context_, t.n_head, t.n_head_kv, t.head_dim,
          text_.attn_workspace,
          attention_decode_workspace_floats(kDecodeMaxQueries, t.n_head, t.head_dim), s, step_ + 1);
    }
    gemm_->matmul_nt(text_.h, qd, b.wo, 1, d, qd, text_.x, GemmOut::kF32, d, 1.0f);
    launch_rms_norm(text_.x, nullptr, b.ffn_norm, 1, d, t.norm_eps, text_.h, s);
    gemm_->matmul_nt(text_.h, d, b.w13, 1, 2 * ff, d, text_.gate_up, GemmOut::kF32, 2 * ff, 0.0f);
    launch_silu_mul(text_.gate_up, 1, ff, text_.h, s);
    gemm_->matmul_nt(text_.h, ff, b.w2, 1, d, ff, text_.x, GemmOut::kF32, d, 1.0f);
  }
  launch_rms_norm(text_.x, nullptr, weights_.norm, 1, d, t.norm_eps, text_.h, s);
  gemm_->matmul_nt(text_.h, d, weights_.output, 1, t.n_vocab, d, text_.logits, GemmOut::kF32,
                   t.n_vocab, 0.0f);
  launch_argmax(text_.logits, t.n_vocab, config_.image_token_id, greedy_, s);
}

void CudaEngine::logits(std::int64_t r0, std::int64_t r1, float* out) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, vocab = t.n_vocab;
  cudaStream_t s = stream_.get();
  for (std::int64_t a = r0; a < r1; a += kLogitRows) {
    const std::int64_t rows = std::min(kLogitRows, r1 - a);
    // The norm reads the residual rows and writes bf16 GEMM input at the start of h.
    launch_rms_norm(text_.x + a * d, nullptr, weights_.norm, rows, d, t.norm_eps, text_.h, s);
    gemm_->matmul_nt(text_.h, d, weights_.output, rows, vocab, d, text_.logits, GemmOut::kF32,
                     vocab, 0.0f);
    FS_CUDA_CHECK(cudaMemcpyAsync(out + (a - r0) * vocab, text_.logits,
                                  rows * vocab * sizeof(float), cudaMemcpyDeviceToHost, s));
    // text_.logits is reused by the next block; the copy into pageable memory is synchronous
    // with respect to the host anyway.
    FS_CUDA_CHECK(cudaStreamSynchronize(s));
  }
}

void CudaEngine::greedy_token(std::int64_t r, std::int32_t* token) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd;
  cudaStream_t s = stream_.get();
  launch_rms_norm(text_.x + r * d, nullptr, weights_.norm, 1, d, t.norm_eps, text_.h, s);
  gemm_->matmul_nt(text_.h, d, weights_.output, 1, t.n_vocab, d, text_.logits, GemmOut::kF32,
                   t.n_vocab, 0.0f);
  launch_argmax(text_.logits, t.n_vocab, config_.image_token_id, greedy_, s);
  FS_CUDA_CHECK(cudaMemcpyAsync(token, greedy_, sizeof(std::int32_t), cudaMemcpyDeviceToHost, s));
  FS_CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace framescribe::inference::cuda
