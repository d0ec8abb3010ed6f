// Dummy weights (LoadFormat::kDummy, `--load-format dummy`) on the CPU engine: a model folder
// with only its config is enough, the values are bf16 numbers of the documented scales, a seed
// gives the same weights every time, and the forward pass stays finite. The CUDA engine
// generates the same values (tests/gpu/engine_test.cpp compares the two engines).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/pixtral_weights.h"
#include "inference/test_files.h"

namespace framescribe::inference {
namespace {

namespace fs = std::filesystem;
using framescribe::testing::TempDir;

const fs::path kDemo = fs::path(FS_SOURCE_DIR) / "samples" / "models" / "framescribe-demo";

ModelConfig demo_config() {
  return load_model_config(kDemo);
}

bool is_bf16(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u & 0xffffu) == 0;
}

// Every value of `w` is a bf16 number within +-bound, the values are spread over that range
// (not constant) and centred.
void expect_uniform_bf16(const std::vector<float>& w, double bound, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_FALSE(w.empty());
  double sum = 0.0, sum_sq = 0.0, max_abs = 0.0;
  for (float v : w) {
    ASSERT_TRUE(is_bf16(v)) << v;
    sum += v;
    sum_sq += double(v) * v;
    max_abs = std::max(max_abs, std::fabs(double(v)));
  }
  const double n = double(w.size());
  EXPECT_LE(max_abs, bound * (1.0 + 1.0 / 128));  // bf16 rounding of the bound
  EXPECT_GT(max_abs, bound * 0.9);
  EXPECT_LT(std::fabs(sum / n), 4.0 * bound / std::sqrt(n));
  // Uniform in [-b, b): standard deviation b / sqrt(3).
  EXPECT_NEAR(std::sqrt(sum_sq / n), bound / std::sqrt(3.0), 0.1 * bound);
}

TEST(DummyWeights, NeedOnlyTheConfigFile) {
  TempDir dir;
  fs::copy_file(kDemo / "config.json", dir / "config.json");
  EngineOptions o;
  o.n_threads = 2;
  try {
    (void)load_engine(dir.path(), o);
    ADD_FAILURE() << "loaded a checkpoint without weights";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  o.load_format = LoadFormat::kDummy;
  auto engine = load_engine(dir.path(), o);
  const ModelConfig& c = engine->config();
  EXPECT_EQ(c.text.n_embd, 128);
  const std::vector<std::int32_t> prompt{1, 3, 100, 200, 300, 4};
  const std::vector<float> logits = engine->eval(prompt, {}, LogitsMode::kLast);
  ASSERT_EQ(logits.size(), static_cast<std::size_t>(c.text.n_vocab));
  float lo = logits[0], hi = logits[0];
  for (float v : logits) {
    ASSERT_TRUE(std::isfinite(v));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GT(hi - lo, 1e-3f) << "constant logits: the weights did not reach the output";
}

TEST(DummyWeights, ASeedGivesTheSameWeightsAndAnotherSeedOthers) {
  const ModelConfig c = demo_config();
  const PixtralWeights a = dummy_pixtral_weights(c, 7);
  const PixtralWeights b = dummy_pixtral_weights(c, 7);
  const PixtralWeights d = dummy_pixtral_weights(c, 8);
  EXPECT_EQ(a.tok_embeddings, b.tok_embeddings);
  EXPECT_EQ(a.text_layers[1].w2, b.text_layers[1].w2);
  EXPECT_EQ(a.vision_layers[0].wq, b.vision_layers[0].wq);
  EXPECT_NE(a.tok_embeddings, d.tok_embeddings);
  EXPECT_NE(a.text_layers[1].w2, d.text_layers[1].w2);
  // Tensors of the same shape get their own values (the seed is per tensor name).
  EXPECT_NE(a.text_layers[0].w1, a.text_layers[0].w3);
  EXPECT_NE(a.text_layers[0].w1, a.text_layers[1].w1);
}

TEST(DummyWeights, ValuesAreBf16OfTheDocumentedScales) {
  const ModelConfig c = demo_config();
  const PixtralWeights w = dummy_pixtral_weights(c, 0);
  const TextConfig& t = c.text;
  const VisionConfig& v = c.vision;
  for (float x : w.norm) ASSERT_EQ(x, 1.0f);
  for (float x : w.ln_pre) ASSERT_EQ(x, 1.0f);
  for (float x : w.text_layers[2].ffn_norm) ASSERT_EQ(x, 1.0f);
  expect_uniform_bf16(w.text_layers[0].wq, 1.0 / std::sqrt(double(t.n_embd)), "text wq");
  expect_uniform_bf16(w.text_layers[3].w2, 1.0 / std::sqrt(double(t.n_ff)), "text w2");
  expect_uniform_bf16(w.vision_layers[1].wo, 1.0 / std::sqrt(double(v.n_head * v.head_dim)),
                      "vision wo");
  expect_uniform_bf16(w.patch_conv, 1.0 / std::sqrt(3.0 * v.patch_px * v.patch_px), "patch conv");
  expect_uniform_bf16(w.tok_embeddings, 0.05, "embeddings");
  expect_uniform_bf16(w.proj_b_in, 0.01, "projector bias");
  expect_uniform_bf16(w.output, 1.0 / std::sqrt(double(t.n_embd)), "output");
}

TEST(DummyWeights, FollowTheConfigsTiesAndBiases) {
  ModelConfig c = demo_config();
  c.text.tie_embeddings = true;
  c.projector_bias = false;
  const PixtralWeights w = dummy_pixtral_weights(c, 3);
  EXPECT_EQ(w.output, w.tok_embeddings);
  for (float x : w.proj_b_in) ASSERT_EQ(x, 0.0f);
  for (float x : w.proj_b_out) ASSERT_EQ(x, 0.0f);
}

TEST(DummyWeights, TheForwardPassStaysFiniteWithImages) {
  EngineOptions o;
  o.n_threads = 2;
  o.load_format = LoadFormat::kDummy;
  o.dummy_seed = 11;
  auto engine = make_engine(demo_config(), o);
  const ModelConfig& c = engine->config();
  std::vector<PixelImage> images;
  for (const auto& [w, h] : {std::pair<int, int>{48, 32}, {16, 64}}) {
    PixelImage img{w, h, std::vector<float>(3ull * w * h)};
    for (std::size_t i = 0; i < img.chw.size(); ++i)
      img.chw[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
    images.push_back(std::move(img));
  }
  const std::vector<float> feats = engine->encode_images(images);
  const std::int64_t patches = 3 * 2 + 1 * 4;
  ASSERT_EQ(feats.size(), static_cast<std::size_t>(patches * c.text.n_embd));
  for (float v : feats) ASSERT_TRUE(std::isfinite(v));
  std::vector<std::int32_t> prompt{1, 3};
  for (std::int64_t i = 0; i < patches; ++i) prompt.push_back(c.image_token_id);
  prompt.push_back(4);
  const std::vector<float> l1 = engine->eval(prompt, feats, LogitsMode::kLast);
  for (float v : l1) ASSERT_TRUE(std::isfinite(v));
  // The same engine options give the same answer (the weights are a function of the seed).
  auto again = make_engine(demo_config(), o);
  EXPECT_EQ(again->eval(prompt, again->encode_images(images), LogitsMode::kLast), l1);
}

}  // namespace
}  // namespace framescribe::inference
