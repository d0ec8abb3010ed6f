// Mistral (NeMo-12B) text decoder over a paged KV cache (batch_engine.h), float32.
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

namespace {
std::int64_t kv_dim(const TextConfig& t) {
  return static_cast<std::int64_t>(t.n_head_kv) * t.head_dim;
}
std::int64_t pool_blocks(const KvCacheOptions& cache, std::int64_t max_context) {
  FS_CHECK(cache.block_tokens > 0, kInvalidArgument,
           "KV blocks of " << cache.block_tokens << " positions");
  FS_CHECK(cache.cache_tokens >= 0, kInvalidArgument,
           "KV cache of " << cache.cache_tokens << " positions");
  const std::int64_t tokens = cache.cache_tokens > 0 ? cache.cache_tokens : max_context;
  return (tokens + cache.block_tokens - 1) / cache.block_tokens;
}
}  // namespace

TextDecoder::TextDecoder(const ModelConfig& config, const PixtralWeights& weights,
                         std::int64_t max_context, const KvCacheOptions& cache)
    : config_(config),
      weights_(weights),
      max_context_(max_context),
      table_(pool_blocks(cache, max_context), cache.block_tokens, max_context),
      block_floats_(static_cast<std::int64_t>(config.text.n_layer) * 2 * cache.block_tokens *
                    kv_dim(config.text)) {
  data_.resize(static_cast<std::size_t>(table_.n_blocks()));
}

std::int64_t TextDecoder::cache_bytes() const {
  std::int64_t n = 0;
  for (const auto& d : data_) n += d ? block_floats_ : 0;
  return n * static_cast<std::int64_t>(sizeof(float));
}

float* TextDecoder::block_data(std::int32_t b) {
  std::unique_ptr<float[]>& d = data_[static_cast<std::size_t>(b)];
  if (!d) d = std::make_unique<float[]>(static_cast<std::size_t>(block_floats_));
  return d.get();
}

// The rows of one step, packed in span order.
struct TextDecoder::Rows {
  std::int64_t n = 0;
  std::vector<float> rope;            // [n, hd] cos/sin at each row's position
  std::vector<float*> kv_slot;        // per row: its K slot in layer 0 (V is block_tokens rows on)
  std::vector<std::int64_t> span_of;  // per row: its span
  std::vector<std::int64_t> pos;      // per row: its position
  std::vector<std::vector<float*>> tables;  // per span: its blocks' storage (layer 0)
};

void TextDecoder::block(int layer, float* x, const Rows& r) {
  const TextConfig& t = config_.text;
  const BlockWeights& b = weights_.text_layers[static_cast<std::size_t>(layer)];
  const std::int64_t n = r.n, d = t.n_embd, hd = t.head_dim;
  const std::int64_t qd = static_cast<std::int64_t>(t.n_head) * hd, kvd = kv_dim(t);
  const int bt = table_.block_tokens();
  const std::int64_t layer_off = static_cast<std::int64_t>(layer) * 2 * bt * kvd,
                     v_off = static_cast<std::int64_t>(bt) * kvd;

  std::vector<float> h(n * d), q(n * qd), k(n * kvd), v(n * kvd), att(n * qd), proj(n * d);
  rms_norm(x, b.attention_norm.data(), n, d, t.norm_eps, h.data());
  matmul_nt(h.data(), n, d, b.wq.data(), qd, nullptr, q.data());
  matmul_nt(h.data(), n, d, b.wk.data(), kvd, nullptr, k.data());
  matmul_nt(h.data(), n, d, b.wv.data(), kvd, nullptr, v.data());
  apply_rope(q.data(), n, t.n_head, t.head_dim, qd, r.rope.data());
  apply_rope(k.data(), n, t.n_head_kv, t.head_dim, kvd, r.rope.data());
  // Scatter this step's keys and values into their blocks, then attend: a row sees its own
  // sequence's positions 0..pos, earlier rows of its span included.
  for (std::int64_t i = 0; i < n; ++i) {
    float* slot = r.kv_slot[static_cast<std::size_t>(i)] + layer_off;
    std::memcpy(slot, k.data() + i * kvd, static_cast<std::size_t>(kvd) * sizeof(float));
    std::memcpy(slot + v_off, v.data() + i * kvd, static_cast<std::size_t>(kvd) * sizeof(float));
  }
  std::vector<std::vector<const float*>> kt(r.tables.size()), vt(r.tables.size());
  for (std::size_t s = 0; s < r.tables.size(); ++s) {
    for (float* base : r.tables[s]) {
      kt[s].push_back(base + layer_off);
      vt[s].push_back(base + layer_off + v_off);
    }
  }
  std::vector<PagedRow> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto s = static_cast<std::size_t>(r.span_of[static_cast<std::size_t>(i)]);
    rows[static_cast<std::size_t>(i)] = {r.pos[static_cast<std::size_t>(i)], kt[s].data(),
                                         vt[s].data()};
  }
  // Causal over the whole sequence, image tokens included; no sliding window.
  paged_attention(q.data(), qd, rows.data(), n, bt, kvd, t.n_head, t.n_head_kv, t.head_dim,
                  att.data());
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

std::vector<float> TextDecoder::cached_row(SeqId seq, int layer, std::int64_t pos,
                                           bool value) const {
  FS_CHECK(layer >= 0 && layer < config_.text.n_layer && pos >= 0 && pos < table_.length(seq),
           kInvalidArgument, "no cached row at layer " << layer << ", position " << pos);
  const int bt = table_.block_tokens();
  const std::int64_t kvd = kv_dim(config_.text);
  const float* base =
      data_[static_cast<std::size_t>(table_.blocks(seq)[static_cast<std::size_t>(pos / bt)])]
          .get() +
      static_cast<std::int64_t>(layer) * 2 * bt * kvd + (value ? bt * kvd : 0) + (pos % bt) * kvd;
  return {base, base + kvd};
}

void TextDecoder::shift_out(SeqId seq, std::int64_t begin, std::int64_t end) {
  const TextConfig& t = config_.text;
  // Storage for the blocks it takes before the table changes (a failed allocation changes
  // nothing); shift_blocks_needed checks the sequence and the range.
  const std::int64_t need = table_.shift_blocks_needed(seq, begin, end);
  if (need <= table_.stats().blocks_free)
    for (std::int32_t b : table_.next_free(need)) block_data(b);
  const KvBlockTable::Shift sh = table_.shift_out(seq, begin, end);
  if (sh.begin == sh.end || sh.end == sh.old_length) return;  // nothing moves
  for (const KvBlockCopy& c : sh.copies) {
    const float* src = block_data(c.src);
    std::memcpy(block_data(c.dst), src, static_cast<std::size_t>(block_floats_) * sizeof(float));
  }
  const std::int64_t d = sh.end - sh.begin, kvd = kv_dim(t);
  const int bt = table_.block_tokens();
  const std::int64_t v_off = static_cast<std::int64_t>(bt) * kvd;
  // R(-d): the rotation that takes a key rotated for position p to position p - d.
  std::vector<float> rot(static_cast<std::size_t>(t.head_dim));
  rope_1d_angles(t.head_dim, t.rope_theta, -d, rot.data());
  const auto row_size = static_cast<std::size_t>(kvd) * sizeof(float);
  // Ascending target positions: a source slot is never a slot already written (the source lies
  // d positions further on; a replaced block is not one the table still lists).
  for (std::int64_t p = sh.begin; p < sh.old_length - d; ++p) {
    const std::int64_t q = p + d;
    const float* src = block_data(sh.old_blocks[static_cast<std::size_t>(q / bt)]) + (q % bt) * kvd;
    float* dst = block_data(sh.new_blocks[static_cast<std::size_t>(p / bt)]) + (p % bt) * kvd;
    for (int l = 0; l < t.n_layer; ++l) {
      const std::int64_t off = static_cast<std::int64_t>(l) * 2 * v_off;
      std::memmove(dst + off, src + off, row_size);
      std::memmove(dst + off + v_off, src + off + v_off, row_size);
      apply_rope(dst + off, 1, t.n_head_kv, t.head_dim, kvd, rot.data());
    }
  }
}

StepResult TextDecoder::step(std::span<const StepSpan> spans) {
  const TextConfig& t = config_.text;
  const std::int64_t d = t.n_embd, hd = t.head_dim;
  // Every check before any change: the requests, then the blocks (KvBlockTable::append is all
  // or nothing and checks sequences, repeats and free blocks).
  std::vector<KvAppend> appends;
  std::vector<std::int64_t> pos0;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const StepSpan& s = spans[i];
    FS_CHECK(table_.contains(s.seq), kInvalidArgument,
             "step span " << i << ": no sequence " << s.seq);
    pos0.push_back(table_.length(s.seq));
    check_eval_request(config_, pos0.back(), max_context_, s.tokens, s.image_embeddings.size());
    appends.push_back({s.seq, static_cast<std::int64_t>(s.tokens.size())});
  }
  // Storage for the blocks the step will take, before the table changes (an allocation that
  // fails leaves everything as it was).
  const std::int64_t need = table_.blocks_needed(appends);
  if (need <= table_.stats().blocks_free)
    for (std::int32_t b : table_.next_free(need)) block_data(b);
  const std::vector<KvBlockCopy> copies = table_.append(appends);
  for (const KvBlockCopy& c : copies) {
    const float* src = block_data(c.src);
    std::memcpy(block_data(c.dst), src, static_cast<std::size_t>(block_floats_) * sizeof(float));
  }

  Rows r;
  for (const StepSpan& s : spans) r.n += static_cast<std::int64_t>(s.tokens.size());
  StepResult out;
  out.n_vocab = t.n_vocab;
  std::int64_t n_logit_rows = 0;
  for (const StepSpan& s : spans) {
    out.first_row.push_back(n_logit_rows);
    const auto n = static_cast<std::int64_t>(s.tokens.size());
    n_logit_rows += n == 0 ? 0 : s.logits == LogitsMode::kAll ? n : s.logits == LogitsMode::kLast;
  }
  if (r.n == 0) return out;

  // Embeddings; [IMG] positions are overwritten, in order, by the span's projected patches
  // (docs/pixtral.md 3.4). [IMG_BREAK]/[IMG_END] keep their own embeddings.
  const int bt = table_.block_tokens();
  std::vector<float> x(r.n * d);
  r.rope.resize(r.n * hd);
  std::vector<std::int64_t> logit_rows;
  std::int64_t row = 0;
  for (std::size_t si = 0; si < spans.size(); ++si) {
    const StepSpan& s = spans[si];
    std::vector<float*>& tab = r.tables.emplace_back();
    for (std::int32_t b : table_.blocks(s.seq)) tab.push_back(block_data(b));
    std::int64_t next_image_row = 0;
    const auto n = static_cast<std::int64_t>(s.tokens.size());
    for (std::int64_t i = 0; i < n; ++i, ++row) {
      const std::int32_t tok = s.tokens[static_cast<std::size_t>(i)];
      const float* src = tok == config_.image_token_id
                             ? s.image_embeddings.data() + (next_image_row++) * d
                             : weights_.tok_embeddings.data() + static_cast<std::int64_t>(tok) * d;
      std::memcpy(x.data() + row * d, src, static_cast<std::size_t>(d) * sizeof(float));
      const std::int64_t p = pos0[si] + i;
      rope_1d_angles(t.head_dim, t.rope_theta, p, r.rope.data() + row * hd);
      r.kv_slot.push_back(tab[static_cast<std::size_t>(p / bt)] + (p % bt) * kv_dim(t));
      r.span_of.push_back(static_cast<std::int64_t>(si));
      r.pos.push_back(p);
      if (s.logits == LogitsMode::kAll || (s.logits == LogitsMode::kLast && i == n - 1))
        logit_rows.push_back(row);
    }
  }

  for (int l = 0; l < t.n_layer; ++l) block(l, x.data(), r);

  if (logit_rows.empty()) return out;
  const auto rows = static_cast<std::int64_t>(logit_rows.size());
  std::vector<float> picked(rows * d), normed(rows * d);
  for (std::int64_t i = 0; i < rows; ++i)
    std::memcpy(picked.data() + i * d, x.data() + logit_rows[static_cast<std::size_t>(i)] * d,
                static_cast<std::size_t>(d) * sizeof(float));
  out.logits.resize(static_cast<std::size_t>(rows * t.n_vocab));
  rms_norm(picked.data(), weights_.norm.data(), rows, d, t.norm_eps, normed.data());
  matmul_nt(normed.data(), rows, d, weights_.output.data(), t.n_vocab, nullptr, out.logits.data());
  return out;
}

}  // namespace framescribe::inference::cpu
