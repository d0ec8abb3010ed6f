// Tensor names: docs/pixtral.md 5.1 (native, mistral-inference module names) and 5.2 (HF,
// transformers convert_pixtral_weights_to_hf.py OLD_KEY_TO_NEW_KEY_MAPPING, legacy on-disk keys).
#include "framescribe/inference/pixtral_weights.h"

#include <regex>
#include <utility>

#include "dummy_weights.h"
#include "framescribe/core/error.h"

namespace framescribe::inference {

std::string checkpoint_tensor_name(CheckpointLayout layout, const std::string& n) {
  if (layout == CheckpointLayout::kNative) return n;
  // Ordered: the first matching rule wins.
  static const std::vector<std::pair<std::regex, std::string>> kRules = [] {
    std::vector<std::pair<std::regex, std::string>> r;
    auto add = [&](const char* from, const char* to) { r.emplace_back(std::regex(from), to); };
    add(R"(^tok_embeddings\.weight$)", "language_model.model.embed_tokens.weight");
    add(R"(^norm\.weight$)", "language_model.model.norm.weight");
    add(R"(^output\.weight$)", "language_model.lm_head.weight");
    add(R"(^layers\.(\d+)\.attention_norm\.weight$)",
        "language_model.model.layers.$1.input_layernorm.weight");
    add(R"(^layers\.(\d+)\.ffn_norm\.weight$)",
        "language_model.model.layers.$1.post_attention_layernorm.weight");
    add(R"(^layers\.(\d+)\.attention\.wq\.weight$)",
        "language_model.model.layers.$1.self_attn.q_proj.weight");
    add(R"(^layers\.(\d+)\.attention\.wk\.weight$)",
        "language_model.model.layers.$1.self_attn.k_proj.weight");
    add(R"(^layers\.(\d+)\.attention\.wv\.weight$)",
        "language_model.model.layers.$1.self_attn.v_proj.weight");
    add(R"(^layers\.(\d+)\.attention\.wo\.weight$)",
        "language_model.model.layers.$1.self_attn.o_proj.weight");
    add(R"(^layers\.(\d+)\.feed_forward\.w1\.weight$)",
        "language_model.model.layers.$1.mlp.gate_proj.weight");
    add(R"(^layers\.(\d+)\.feed_forward\.w2\.weight$)",
        "language_model.model.layers.$1.mlp.down_proj.weight");
    add(R"(^layers\.(\d+)\.feed_forward\.w3\.weight$)",
        "language_model.model.layers.$1.mlp.up_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.attention\.wq\.weight$)",
        "vision_tower.transformer.layers.$1.attention.q_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.attention\.wk\.weight$)",
        "vision_tower.transformer.layers.$1.attention.k_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.attention\.wv\.weight$)",
        "vision_tower.transformer.layers.$1.attention.v_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.attention\.wo\.weight$)",
        "vision_tower.transformer.layers.$1.attention.o_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w1\.weight$)",
        "vision_tower.transformer.layers.$1.feed_forward.gate_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w2\.weight$)",
        "vision_tower.transformer.layers.$1.feed_forward.down_proj.weight");
    add(R"(^vision_encoder\.transformer\.layers\.(\d+)\.feed_forward\.w3\.weight$)",
        "vision_tower.transformer.layers.$1.feed_forward.up_proj.weight");
    add(R"(^vision_encoder\.)", "vision_tower.");  // patch_conv, ln_pre, attention_norm, ffn_norm
    add(R"(^vision_language_adapter\.w_in\.)", "multi_modal_projector.linear_1.");
    add(R"(^vision_language_adapter\.w_out\.)", "multi_modal_projector.linear_2.");
    return r;
  }();
  for (const auto& [re, to] : kRules) {
    if (std::regex_search(n, re))
      return std::regex_replace(n, re, to, std::regex_constants::format_first_only);
  }
  FS_FAIL(kInternal, "no Hugging Face name for native tensor '" << n << "'");
}

namespace {

void permute_qk(std::span<float> rows, int n_heads, int head_dim, std::int64_t row_len,
                bool to_native) {
  const std::int64_t hd = head_dim;
  FS_CHECK(hd % 2 == 0 && static_cast<std::int64_t>(rows.size()) == n_heads * hd * row_len,
           kInternal,
           "q/k permutation: " << rows.size() << " values do not form " << n_heads << " heads x "
                               << head_dim << " rows of " << row_len);
  std::vector<float> head(static_cast<std::size_t>(hd * row_len));
  for (int h = 0; h < n_heads; ++h) {
    float* base = rows.data() + h * hd * row_len;
    std::copy(base, base + hd * row_len, head.begin());
    for (std::int64_t i = 0; i < hd / 2; ++i) {
      for (std::int64_t r = 0; r < 2; ++r) {
        std::int64_t native_row = 2 * i + r;
        std::int64_t hf_row = r * (hd / 2) + i;
        std::int64_t dst = to_native ? native_row : hf_row;
        std::int64_t src = to_native ? hf_row : native_row;
        std::copy(head.begin() + src * row_len, head.begin() + (src + 1) * row_len,
                  base + dst * row_len);
      }
    }
  }
}

}  // namespace

void permute_qk_hf_to_native(std::span<float> rows, int n_heads, int head_dim,
                             std::int64_t row_len) {
  permute_qk(rows, n_heads, head_dim, row_len, /*to_native=*/true);
}

void permute_qk_native_to_hf(std::span<float> rows, int n_heads, int head_dim,
                             std::int64_t row_len) {
  permute_qk(rows, n_heads, head_dim, row_len, /*to_native=*/false);
}

namespace {

// Where tensors come from: a checkpoint (HF q/k rows un-permuted) or the dummy generator
// (values already in the native layout).
class Loader {
 public:
  Loader(const ModelConfig& c, const TensorStore& s) : c_(c), store_(&s) {}
  Loader(const ModelConfig& c, std::uint64_t dummy_seed) : c_(c), dummy_seed_(dummy_seed) {}

  std::vector<float> get(const std::string& native,
                         std::initializer_list<std::int64_t> shape) const {
    if (store_ != nullptr)
      return store_->load_f32(checkpoint_tensor_name(c_.layout, native), shape);
    const std::vector<std::int64_t> dims(shape);
    const dummy::Fill f = dummy::fill_for(c_, dummy_seed_, native, dims);
    std::int64_t n = 1;
    for (const std::int64_t d : dims) n *= d;
    std::vector<float> values(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      values[static_cast<std::size_t>(i)] = dummy::value(f, static_cast<std::uint64_t>(i));
    return values;
  }
  // q or k: HF rows are in half-split order; bring them to interleaved pairs.
  std::vector<float> get_qk(const std::string& native, int n_heads, int head_dim,
                            std::int64_t in_dim) const {
    std::vector<float> w = get(native, {static_cast<std::int64_t>(n_heads) * head_dim, in_dim});
    if (store_ != nullptr && c_.layout == CheckpointLayout::kHuggingFace)
      permute_qk_hf_to_native(w, n_heads, head_dim, in_dim);
    return w;
  }
  // The checkpoint has this tensor (the dummy generator has every tensor).
  bool has(const std::string& native) const {
    return store_ == nullptr || store_->contains(checkpoint_tensor_name(c_.layout, native));
  }

  BlockWeights block(const std::string& prefix, std::int64_t d, int n_head, int n_head_kv,
                     int head_dim, std::int64_t ff) const {
    const std::int64_t q = static_cast<std::int64_t>(n_head) * head_dim;
    const std::int64_t kv = static_cast<std::int64_t>(n_head_kv) * head_dim;
    BlockWeights b;
    b.attention_norm = get(prefix + "attention_norm.weight", {d});
    b.wq = get_qk(prefix + "attention.wq.weight", n_head, head_dim, d);
    b.wk = get_qk(prefix + "attention.wk.weight", n_head_kv, head_dim, d);
    b.wv = get(prefix + "attention.wv.weight", {kv, d});
    b.wo = get(prefix + "attention.wo.weight", {d, q});
    b.ffn_norm = get(prefix + "ffn_norm.weight", {d});
    b.w1 = get(prefix + "feed_forward.w1.weight", {ff, d});
    b.w2 = get(prefix + "feed_forward.w2.weight", {d, ff});
    b.w3 = get(prefix + "feed_forward.w3.weight", {ff, d});
    return b;
  }

 private:
  const ModelConfig& c_;
  const TensorStore* store_ = nullptr;
  std::uint64_t dummy_seed_ = 0;
};

PixtralWeights load_weights(const ModelConfig& c, const Loader& ld) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  PixtralWeights w;
  const std::int64_t vd = v.n_embd, td = t.n_embd;

  // The conv weight [out, c, ky, kx] is already the [out, c*ky*kx] GEMM matrix.
  w.patch_conv =
      ld.get("vision_encoder.patch_conv.weight", {vd, v.n_channels, v.patch_px, v.patch_px});
  w.ln_pre = ld.get("vision_encoder.ln_pre.weight", {vd});
  for (int l = 0; l < v.n_layer; ++l) {
    w.vision_layers.push_back(
        ld.block("vision_encoder.transformer.layers." + std::to_string(l) + ".", vd, v.n_head,
                 v.n_head, v.head_dim, v.n_ff));
  }

  w.proj_w_in = ld.get("vision_language_adapter.w_in.weight", {td, vd});
  w.proj_w_out = ld.get("vision_language_adapter.w_out.weight", {td, td});
  if (c.projector_bias) {
    w.proj_b_in = ld.get("vision_language_adapter.w_in.bias", {td});
    w.proj_b_out = ld.get("vision_language_adapter.w_out.bias", {td});
  } else {
    w.proj_b_in.assign(static_cast<std::size_t>(td), 0.0f);
    w.proj_b_out.assign(static_cast<std::size_t>(td), 0.0f);
  }

  w.tok_embeddings = ld.get("tok_embeddings.weight", {t.n_vocab, td});
  for (int l = 0; l < t.n_layer; ++l) {
    w.text_layers.push_back(ld.block("layers." + std::to_string(l) + ".", td, t.n_head, t.n_head_kv,
                                     t.head_dim, t.n_ff));
  }
  w.norm = ld.get("norm.weight", {td});
  if (t.tie_embeddings && !ld.has("output.weight")) {
    w.output = w.tok_embeddings;
  } else {
    w.output = ld.get("output.weight", {t.n_vocab, td});
  }
  return w;
}

}  // namespace

PixtralWeights load_pixtral_weights(const ModelConfig& c, const TensorStore& store) {
  return load_weights(c, Loader(c, store));
}

PixtralWeights dummy_pixtral_weights(const ModelConfig& c, std::uint64_t seed) {
  return load_weights(c, Loader(c, seed));
}

}  // namespace framescribe::inference
