// Dummy weights (LoadFormat::kDummy, `--load-format dummy`) on the CPU engine: a model folder
// with only its config is enough, the values are bf16 numbers of the documented scales, a seed
// gives the same weights every time, and the forward pass stays finite. The CUDA engine
// generates the same values (tests/gpu/engine_test.cpp compares the two engines).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// A copy of the demo model's config.json with `edit` applied, alone in a folder (no weights).
class EditedConfig {
 public:
  explicit EditedConfig(const std::function<void(nlohmann::json&)>& edit) {
    std::ifstream in(kDemo / "config.json");
    nlohmann::json j = nlohmann::json::parse(in);
    edit(j);
    std::ofstream(dir_ / "config.json") << j.dump();
  }
  const fs::path& path() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// Loads a dummy CPU engine from `dir`, expecting Error(code) with every fragment.
void expect_refused(const fs::path& dir, ErrorCode code,
                    std::initializer_list<std::string_view> fragments) {
  EngineOptions o;
  o.n_threads = 2;
  o.load_format = LoadFormat::kDummy;
  try {
    (void)load_engine(dir, o);
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (std::string_view f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << f << " in: " << e.what();
  }
}

// --load-format dummy allocates what config.json says: 2^24 layers of the demo model are 3.3e12
// parameters (12 TiB as float32) and used to be allocated until the machine gave out. Now the
// config is refused from its dimensions alone, before anything is allocated (so this is fast).
TEST(DummyWeights, ConfigsBeyondTheSanityCapsAreRefusedBeforeAllocating) {
  expect_refused(EditedConfig([](nlohmann::json& j) {
                   j["text_config"]["num_hidden_layers"] = 1 << 24;
                 }).path(),
                 ErrorCode::kMalformedModel,
                 {"config.json", "16777216 layers", "TiB as float32", "1099511627776 (2^40)"});
  // A 2^31 vocabulary is beyond the per-dimension cap.
  expect_refused(EditedConfig([](nlohmann::json& j) {
                   j["text_config"]["vocab_size"] = std::int64_t{1} << 31;
                 }).path(),
                 ErrorCode::kMalformedModel,
                 {"config.json", "text_config.vocab_size", "at most 16777216", "2147483648"});
}

// Within the caps but beyond this machine: 2^24 vocabulary x 5120 hidden is 1.7e11 parameters
// (640 GiB as float32), refused against the memory available, with the estimate and the limit.
TEST(DummyWeights, ConfigsBeyondTheAvailableMemoryAreRefusedBeforeAllocating) {
  const EditedConfig config([](nlohmann::json& j) {
    j["text_config"]["vocab_size"] = 1 << 24;
    j["text_config"]["hidden_size"] = 5120;
  });
  const ModelConfig c = load_model_config(config.path(), WeightFile::kOptional);
  const MemoryEstimate m = estimate_cpu_memory(c, 2048);
  const std::int64_t available = available_host_memory_bytes();
  ASSERT_GT(available, 0) << "MemAvailable unreadable";
  if (m.weights < double(available)) GTEST_SKIP() << "this machine holds 640 GiB";
  expect_refused(config.path(), ErrorCode::kOutOfMemory,
                 {"config.json", "the CPU engine needs about", "GiB of float32 weights",
                  format_bytes(double(available)).substr(0, 2), "of memory is available"});
}

TEST(DummyWeights, TheMemoryEstimateMatchesTheEngineAndTheLimitIsApplied) {
  const ModelConfig c = demo_config();
  const MemoryEstimate m = estimate_cpu_memory(c, 2048);
  // The weights as the engine reports them (float32 of every parameter), plus bookkeeping.
  EngineOptions o;
  o.n_threads = 2;
  o.load_format = LoadFormat::kDummy;
  auto engine = make_engine(c, o);
  const double reported = double(engine->memory_use().weights);
  EXPECT_GE(m.weights, reported);
  EXPECT_LT(m.weights, reported * 1.05);
  // The full-context cache: 2 (k, v) x layers x tokens x kv heads x head_dim x 4 bytes.
  EXPECT_EQ(m.cache, 2.0 * 4 * 2048 * 2 * 32 * 4);
  EXPECT_GT(m.scratch, 0);
  EXPECT_NO_THROW(check_cpu_engine_fits(c, 2048, std::int64_t{1} << 30));
  EXPECT_NO_THROW(check_cpu_engine_fits(c, 2048, -1));  // unknown: nothing refused
  try {
    check_cpu_engine_fits(c, 2048, 1 << 20);
    ADD_FAILURE() << "a 1 MiB limit accepted " << m.weights << " bytes of weights";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("only 1.0 MiB of memory is available"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(format_bytes(m.weights)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace framescribe::inference
