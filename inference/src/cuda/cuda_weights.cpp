// Weight layout and upload for the CUDA engine. Tensor names and shapes follow
// pixtral_weights.cpp (docs/pixtral.md 5.1/5.2); tensors are streamed one at a time (widened to
// float32 on the host, rounded to bf16, copied), so loading the 25 GB checkpoint never holds
// more than one tensor in host memory.
#include "cuda/cuda_weights.h"

#include <cmath>
#include <cstring>
#include <string>

#include "cuda/cuda_check.h"
#include "dummy_weights.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/pixtral_weights.h"

namespace framescribe::inference::cuda {
namespace {

enum class Kind { kMatrix, kNorm, kBias, kEmbedding };

// One checkpoint tensor and where it goes in the arena.
struct Slot {
  std::string native_name;
  std::vector<std::int64_t> shape;
  bf16* dst = nullptr;
  Kind kind = Kind::kMatrix;
  int qk_heads = 0;  // > 0: q or k rows, un-permuted from the HF layout
  int head_dim = 0;
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t s : shape) n *= s;
    return n;
  }
};

// Walks the layout once with an ArenaPlan (sizes) and once with the arena (views); `slots`
// collects the tensors in the same pass so the two can never disagree.
template <typename Alloc>
void layout(const ModelConfig& c, Alloc& alloc, DeviceWeights& w, std::vector<Slot>* slots) {
  auto add = [&](std::string name, std::vector<std::int64_t> shape, bf16* dst, Kind kind,
                 int qk_heads = 0, int head_dim = 0) {
    if (slots != nullptr)
      slots->push_back({std::move(name), std::move(shape), dst, kind, qk_heads, head_dim});
  };
  auto block = [&](const std::string& prefix, std::int64_t d, int n_head, int n_head_kv, int hd,
                   std::int64_t ff) {
    const std::int64_t qd = std::int64_t{n_head} * hd, kvd = std::int64_t{n_head_kv} * hd;
    DeviceBlock b;
    b.attention_norm = alloc.template take<bf16>(d);
    b.wqkv = alloc.template take<bf16>((qd + 2 * kvd) * d);
    b.wo = alloc.template take<bf16>(d * qd);
    b.ffn_norm = alloc.template take<bf16>(d);
    b.w13 = alloc.template take<bf16>(2 * ff * d);
    b.w2 = alloc.template take<bf16>(d * ff);
    add(prefix + "attention_norm.weight", {d}, b.attention_norm, Kind::kNorm);
    add(prefix + "attention.wq.weight", {qd, d}, b.wqkv, Kind::kMatrix, n_head, hd);
    add(prefix + "attention.wk.weight", {kvd, d}, b.wqkv ? b.wqkv + qd * d : nullptr, Kind::kMatrix,
        n_head_kv, hd);
    add(prefix + "attention.wv.weight", {kvd, d}, b.wqkv ? b.wqkv + (qd + kvd) * d : nullptr,
        Kind::kMatrix);
    add(prefix + "attention.wo.weight", {d, qd}, b.wo, Kind::kMatrix);
    add(prefix + "ffn_norm.weight", {d}, b.ffn_norm, Kind::kNorm);
    add(prefix + "feed_forward.w1.weight", {ff, d}, b.w13, Kind::kMatrix);
    add(prefix + "feed_forward.w3.weight", {ff, d}, b.w13 ? b.w13 + ff * d : nullptr,
        Kind::kMatrix);
    add(prefix + "feed_forward.w2.weight", {d, ff}, b.w2, Kind::kMatrix);
    return b;
  };

  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  const std::int64_t vd = v.n_embd, td = t.n_embd, p = v.patch_px;
  w.patch_conv = alloc.template take<bf16>(vd * v.n_channels * p * p);
  add("vision_encoder.patch_conv.weight", {vd, v.n_channels, p, p}, w.patch_conv, Kind::kMatrix);
  w.ln_pre = alloc.template take<bf16>(vd);
  add("vision_encoder.ln_pre.weight", {vd}, w.ln_pre, Kind::kNorm);
  w.vision.clear();
  for (int l = 0; l < v.n_layer; ++l) {
    w.vision.push_back(block("vision_encoder.transformer.layers." + std::to_string(l) + ".", vd,
                             v.n_head, v.n_head, v.head_dim, v.n_ff));
  }
  w.proj_w_in = alloc.template take<bf16>(td * vd);
  w.proj_b_in = alloc.template take<bf16>(td);
  w.proj_w_out = alloc.template take<bf16>(td * td);
  w.proj_b_out = alloc.template take<bf16>(td);
  add("vision_language_adapter.w_in.weight", {td, vd}, w.proj_w_in, Kind::kMatrix);
  add("vision_language_adapter.w_out.weight", {td, td}, w.proj_w_out, Kind::kMatrix);
  // Without projector biases the slots stay zero (filled below), like the CPU loader.
  add("vision_language_adapter.w_in.bias", {td}, w.proj_b_in, Kind::kBias);
  add("vision_language_adapter.w_out.bias", {td}, w.proj_b_out, Kind::kBias);

  w.tok_embeddings = alloc.template take<bf16>(std::int64_t{t.n_vocab} * td);
  add("tok_embeddings.weight", {t.n_vocab, td}, w.tok_embeddings, Kind::kEmbedding);
  w.text.clear();
  for (int l = 0; l < t.n_layer; ++l) {
    w.text.push_back(
        block("layers." + std::to_string(l) + ".", td, t.n_head, t.n_head_kv, t.head_dim, t.n_ff));
  }
  w.norm = alloc.template take<bf16>(td);
  add("norm.weight", {td}, w.norm, Kind::kNorm);
  w.output = alloc.template take<bf16>(std::int64_t{t.n_vocab} * td);
  add("output.weight", {t.n_vocab, td}, w.output, Kind::kMatrix);
}

std::vector<Slot> allocate(const ModelConfig& c, DeviceWeights& w) {
  ArenaPlan plan;
  DeviceWeights sizing;
  layout(c, plan, sizing, nullptr);
  w.arena = DeviceArena(plan.size_bytes(), "the model weights");
  std::vector<Slot> slots;
  layout(c, w.arena, w, &slots);
  return slots;
}

}  // namespace

std::size_t weights_size_bytes(const ModelConfig& config) {
  ArenaPlan plan;
  DeviceWeights sizing;
  layout(config, plan, sizing, nullptr);
  return plan.size_bytes();
}

DeviceWeights upload_weights(const ModelConfig& c, const TensorStore& store, cudaStream_t stream) {
  DeviceWeights w;
  const std::vector<Slot> slots = allocate(c, w);
  std::vector<std::uint16_t> staging;
  for (const Slot& s : slots) {
    const std::string name = checkpoint_tensor_name(c.layout, s.native_name);
    std::vector<float> values;
    if (s.kind == Kind::kBias && !c.projector_bias) {
      values.assign(static_cast<std::size_t>(s.numel()), 0.0f);
    } else if (s.native_name == "output.weight" && c.text.tie_embeddings && !store.contains(name)) {
      values = store.load_f32(checkpoint_tensor_name(c.layout, "tok_embeddings.weight"), s.shape);
    } else {
      values = store.load_f32(name, s.shape);
      if (s.qk_heads > 0 && c.layout == CheckpointLayout::kHuggingFace)
        permute_qk_hf_to_native(values, s.qk_heads, s.head_dim, s.shape[1]);
    }
    staging.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) staging[i] = f32_to_bf16(values[i]);
    // Synchronous copy from pageable memory: staging is reused for the next tensor.
    FS_CUDA_CHECK(cudaMemcpyAsync(s.dst, staging.data(), staging.size() * sizeof(std::uint16_t),
                                  cudaMemcpyHostToDevice, stream));
    FS_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  return w;
}

DeviceWeights dummy_weights(const ModelConfig& c, std::uint64_t seed, cudaStream_t stream) {
  DeviceWeights w;
  const std::vector<Slot> slots = allocate(c, w);
  for (const Slot& s : slots) {
    // The fill the CPU engine's dummy loader uses for the same tensor (dummy_weights.h).
    const dummy::Fill f = dummy::fill_for(c, seed, s.native_name, s.shape);
    launch_fill_uniform(s.dst, s.numel(), f.seed, f.scale, f.offset, stream);
  }
  FS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return w;
}

}  // namespace framescribe::inference::cuda
