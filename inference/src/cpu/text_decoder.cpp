// Mistral (NeMo-12B) text decoder with a KV cache, float32.
// Follows mistral-inference transformer.py / transformer_layers.py (commit 2557e12d) and
// transformers modeling_mistral.py (commit 93e0020c): pre-norm blocks, GQA, 1-D RoPE on
// interleaved pairs, SiLU-gated FFN, no biases, untied output (docs/pixtral.md section 7).
#include <cmath>
#include <cstring>

#include "cpu/ops.h"
#include "cpu/pixtral_cpu.h"
#include "framescribe/core/error.h"
#include "request_checks.h"

namespace framescribe::inference::cpu {

void rope_1d_angles(int head_dim, double theta, std::int64_t pos, float* cos_sin) {
  // Angles in double, then cast: with theta = 1e9 the fastest pair turns 1 rad per token, and
  // fp32 pos * f loses digits beyond ~10k tokens. Both references use fp32 here; the
  // difference is below the 1e-4 agreement at fixture lengths and more accurate at 128k.
  for (int j = 0; j < head_dim / 2; ++j) {
    const double a = static_cast<double>(pos) * std::pow(theta, -2.0 * j / head_dim);
    cos_sin[2 * j] = static_cast<float>(std::cos(a));
    cos_sin[2 * j + 1] = static_cast<float>(std::sin(a));
  }
}

TextDecoder::TextDecoder(const ModelConfig& config, const PixtralWeights& weights,
                         std::int64_t max_context)
    : config_(config), weights_(weights), max_context_(max_context) {
  k_cache_.resize(static_cast<std::size_t>(config.text.n_layer));
  v_cache_.resize(static_cast<std::size_t>(config.text.n_layer));
}

void TextDecoder::block(int layer, float* x, std::int64_t n) {
  const TextConfig& t = config_.text;
  const BlockWeights& b = weights_.text_layers[static_cast<std::size_t>(layer)];
  const std::int64_t d = t.n_embd, hd = t.head_dim;
  const std::int64_t qd = static_cast<std::int64_t>(t.n_head) * hd,
                     kvd = static_cast<std::int64_t>(t.n_head_kv) * hd;
  const std::int64_t total = n_past_ + n;

  std::vector<float> h(n * d), q(n * qd), att(n * qd), proj(n * d);
  std::vector<float>& kc = k_cache_[static_cast<std::size_t>(layer)];
  std::vector<float>& vc = v_cache_[static_cast<std::size_t>(layer)];
  if (static_cast<std::int64_t>(kc.size()) < total * kvd) {
    kc.resize(total * kvd);
    vc.resize(total * kvd);
  }
  float* k_new = kc.data() + n_past_ * kvd;
  float* v_new = vc.data() + n_past_ * kvd;

  rms_norm(x, b.attention_norm.data(), n, d, t.norm_eps, h.data());
  matmul_nt(h.data(), n, d, b.wq.data(), qd, nullptr, q.data());
  matmul_nt(h.data(), n, d, b.wk.data(), kvd, nullptr, k_new);
  matmul_nt(h.data(), n, d, b.wv.data(), kvd, nullptr, v_new);
  std::vector<float> rope(n * hd);
  for (std::int64_t i = 0; i < n; ++i)
    rope_1d_angles(t.head_dim, t.rope_theta, n_past_ + i, rope.data() + i * hd);
  apply_rope(q.data(), n, t.n_head, t.head_dim, qd, rope.data());
  apply_rope(k_new, n, t.n_head_kv, t.head_dim, kvd, rope.data());
  // Causal over the whole sequence, image tokens included; no sliding window.
  attention(q.data(), qd, kc.data(), vc.data(), kvd, n, total, t.n_head, t.n_head_kv, t.head_dim,
            /*causal=*/true, n_past_, att.data());
  matmul_nt(att.data(), n, qd, b.wo.data(), d, nullptr, proj.data());
  add_inplace(x, proj.data(), n * d);

  std::vector<float> gate(n * t.n_ff), up(n * t.n_ff);
  rms_norm(x, b.ffn_norm.data(), n, d, t.norm_eps, h.data());
  matmul_nt(h.data(), n, d, b.w1.data(), t.n_ff, nullptr, gate.data());
  matmul_nt(h.data(), n, d, b.w3.data(), t.n_ff, nullptr, up.data());
  silu_mul(gate.data(), up.data(), n * t.n_ff);
  matmul_nt(gate.data(), n, t.n_ff, b.w2.data(), d, nullptr, proj.data());
  add_inplace(x, proj.data(), n * d);
}

std::vector<float> TextDecoder::forward(std::span<const std::int32_t> tokens,
                                        std::span<const float> image_embd, LogitsMode mode) {
  const TextConfig& t = config_.text;
  const std::int64_t n = static_cast<std::int64_t>(tokens.size()), d = t.n_embd;
  if (n == 0) return {};
  check_eval_request(config_, n_past_, max_context_, tokens, image_embd.size());

  // Embeddings; [IMG] positions are overwritten, in order, by the projected patches
  // (docs/pixtral.md 3.4). [IMG_BREAK]/[IMG_END] keep their own embeddings.
  std::vector<float> x(n * d);
  std::int64_t next_row = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* src =
        tokens[i] == config_.image_token_id
            ? image_embd.data() + (next_row++) * d
            : weights_.tok_embeddings.data() + static_cast<std::int64_t>(tokens[i]) * d;
    std::memcpy(x.data() + i * d, src, static_cast<std::size_t>(d) * sizeof(float));
  }

  for (int l = 0; l < t.n_layer; ++l) block(l, x.data(), n);
  n_past_ += n;

  if (mode == LogitsMode::kNone) return {};
  const std::int64_t first = mode == LogitsMode::kAll ? 0 : n - 1, rows = n - first;
  std::vector<float> normed(rows * d), logits(rows * t.n_vocab);
  rms_norm(x.data() + first * d, weights_.norm.data(), rows, d, t.norm_eps, normed.data());
  matmul_nt(normed.data(), rows, d, weights_.output.data(), t.n_vocab, nullptr, logits.data());
  return logits;
}

}  // namespace framescribe::inference::cpu
