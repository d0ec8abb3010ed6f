// The CPU engine against the transformers reference fixtures (tests/data/reference/, see
// PROVENANCE.md there): image features, prompt logits, cached decode and greedy tokens within
// the fixtures' float32 tolerance (max |a-b| / max |b| <= 1e-4).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/pixtral_weights.h"
#include "framescribe/inference/reference_check.h"
#include "framescribe/inference/safetensors.h"
#include "inference/random_image.h"
#include "inference/test_files.h"

namespace fi = framescribe::inference;
namespace ft = framescribe::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(FS_TEST_DATA_DIR) / "reference";
constexpr double kTolerance = 1e-4;  // fixtures README: a float32 engine stays below 1e-4

using framescribe::inference::testing::random_image;

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

class ReferenceFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(ReferenceFixture, MatchesTransformers) {
  const fs::path dir = kData / GetParam();
  auto engine = fi::load_engine(dir, {});
  fi::ReferenceCheckResult r =
      fi::run_reference_check(*engine, dir / "expected.safetensors", {kTolerance});
  SCOPED_TRACE(fi::format_report(r));
  EXPECT_LE(r.image_features_rel_err, kTolerance);
  EXPECT_LE(r.logits_rel_err, kTolerance);
  EXPECT_LE(r.logits_full_rel_err, kTolerance);
  ASSERT_FALSE(r.expected_tokens.empty());
  EXPECT_EQ(r.engine_tokens, r.expected_tokens);
  EXPECT_TRUE(r.passed);
  EXPECT_GT(r.n_images, 1);  // the fixtures batch several images of different sizes
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceFixture,
                         ::testing::Values("pixtral_tiny_a", "pixtral_tiny_b"));

TEST(ReferenceCheck, DetectsAWrongModel) {
  // Fixture A's reference outputs against fixture B's model must fail loudly, not pass.
  auto engine = fi::load_engine(kData / "pixtral_tiny_b", {});
  EXPECT_THROW(
      fi::run_reference_check(*engine, kData / "pixtral_tiny_a" / "expected.safetensors", {}),
      framescribe::Error);
}

TEST(ReferenceCheck, DetectsPerturbedWeights) {
  // Copy fixture A with one q_proj row changed slightly: the check must report a failure.
  ft::TempDir tmp;
  fs::copy_file(kData / "pixtral_tiny_a" / "config.json", tmp / "config.json");
  fi::TensorStore store = fi::TensorStore::open(kData / "pixtral_tiny_a" / "model.safetensors");
  std::map<std::string, ft::RawTensor> tensors;
  for (const std::string& name : store.names()) {
    const fi::TensorInfo* t = store.find(name);
    std::vector<float> v = store.load_f32(name, t->shape);
    if (name == "language_model.model.layers.1.self_attn.q_proj.weight") v[5] += 0.05f;
    tensors[name] = ft::f32_tensor(t->shape, v);
  }
  ft::write_safetensors(tmp / "model.safetensors", tensors);
  auto engine = fi::load_engine(tmp.path(), {});
  fi::ReferenceCheckResult r = fi::run_reference_check(
      *engine, kData / "pixtral_tiny_a" / "expected.safetensors", {kTolerance});
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.logits_rel_err, kTolerance);
  EXPECT_LE(r.image_features_rel_err, kTolerance);  // the vision tower was not touched
}

// Fixture A rewritten in the native layout (params.json + consolidated.safetensors, native
// names, q/k rows back in interleaved order) must give the same numbers as the HF layout.
// The permutation here is written out from docs/pixtral.md 5.3 independently of the loader's.
TEST(NativeLayout, ConvertedFixtureGivesTheSameLogits) {
  const fs::path hf_dir = kData / "pixtral_tiny_a";
  std::ifstream cfg_in(hf_dir / "config.json");
  nlohmann::json hf = nlohmann::json::parse(cfg_in);
  const auto& tc = hf["text_config"];
  const auto& vc = hf["vision_config"];

  ft::TempDir tmp;
  nlohmann::json params = {{"dim", tc["hidden_size"]},
                           {"n_layers", tc["num_hidden_layers"]},
                           {"head_dim", tc["head_dim"]},
                           {"hidden_dim", tc["intermediate_size"]},
                           {"n_heads", tc["num_attention_heads"]},
                           {"n_kv_heads", tc["num_key_value_heads"]},
                           {"rope_theta", tc["rope_parameters"]["rope_theta"]},
                           {"norm_eps", tc["rms_norm_eps"]},
                           {"vocab_size", tc["vocab_size"]},
                           {"vision_encoder",
                            {{"hidden_size", vc["hidden_size"]},
                             {"num_channels", 3},
                             {"image_size", vc["image_size"]},
                             {"patch_size", vc["patch_size"]},
                             {"rope_theta", vc["rope_parameters"]["rope_theta"]},
                             {"intermediate_size", vc["intermediate_size"]},
                             {"num_hidden_layers", vc["num_hidden_layers"]},
                             {"num_attention_heads", vc["num_attention_heads"]},
                             {"image_token_id", 10}}}};
  ft::write_text(tmp / "params.json", params.dump(1));

  // HF name -> native name, and the head layout of q/k tensors.
  auto native_name = [](std::string n) {
    const std::vector<std::pair<std::string, std::string>> subs = {
        {"language_model.model.embed_tokens.", "tok_embeddings."},
        {"language_model.model.norm.", "norm."},
        {"language_model.lm_head.", "output."},
        {"language_model.model.layers.", "layers."},
        {"vision_tower.", "vision_encoder."},
        {"multi_modal_projector.linear_1.", "vision_language_adapter.w_in."},
        {"multi_modal_projector.linear_2.", "vision_language_adapter.w_out."},
        {".input_layernorm.", ".attention_norm."},
        {".post_attention_layernorm.", ".ffn_norm."},
        {".self_attn.", ".attention."},
        {".mlp.", ".feed_forward."},
        {".q_proj.", ".wq."},
        {".k_proj.", ".wk."},
        {".v_proj.", ".wv."},
        {".o_proj.", ".wo."},
        {".gate_proj.", ".w1."},
        {".down_proj.", ".w2."},
        {".up_proj.", ".w3."}};
    for (const auto& [a, b] : subs) {
      auto pos = n.find(a);
      if (pos != std::string::npos) n.replace(pos, a.size(), b);
    }
    return n;
  };
  fi::TensorStore store = fi::TensorStore::open(hf_dir / "model.safetensors");
  std::map<std::string, ft::RawTensor> tensors;
  for (const std::string& name : store.names()) {
    const fi::TensorInfo* t = store.find(name);
    std::vector<float> v = store.load_f32(name, t->shape);
    const bool is_q = name.find("q_proj") != std::string::npos,
               is_k = name.find("k_proj") != std::string::npos;
    if (is_q || is_k) {
      const bool vision = name.rfind("vision_tower", 0) == 0;
      const int heads =
          vision ? vc["num_attention_heads"].get<int>()
                 : (is_q ? tc["num_attention_heads"] : tc["num_key_value_heads"]).get<int>();
      const int hd = vision ? vc["head_dim"].get<int>() : tc["head_dim"].get<int>();
      const std::int64_t in = t->shape[1];
      std::vector<float> native(v.size());
      // W_hf[h*hd + r*hd/2 + i] = W_native[h*hd + 2i + r]  (docs/pixtral.md 5.3)
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < hd / 2; ++i)
          for (int r = 0; r < 2; ++r)
            std::copy_n(v.begin() + (static_cast<std::int64_t>(h) * hd + r * hd / 2 + i) * in, in,
                        native.begin() + (static_cast<std::int64_t>(h) * hd + 2 * i + r) * in);
      v = native;
    }
    tensors[native_name(name)] = ft::f32_tensor(t->shape, v);
  }
  ft::write_safetensors(tmp / "consolidated.safetensors", tensors);

  auto native_engine = fi::load_engine(tmp.path(), {});
  ASSERT_EQ(native_engine->config().layout, fi::CheckpointLayout::kNative);
  auto hf_engine = fi::load_engine(hf_dir, {});

  fi::TensorStore expected = fi::TensorStore::open(hf_dir / "expected.safetensors");
  std::vector<std::int64_t> ids64 = expected.load_i64("input_ids");
  std::vector<std::int32_t> ids(ids64.begin(), ids64.end());
  std::vector<fi::PixelImage> images = {random_image(48, 64, 1), random_image(80, 32, 2)};

  std::vector<float> f_native = native_engine->encode_images(images);
  std::vector<float> f_hf = hf_engine->encode_images(images);
  ASSERT_GT(norm(f_hf), 0.0);
  EXPECT_LE(fi::max_relative_error(f_native, f_hf), 1e-6);
  std::vector<float> l_native = native_engine->eval(ids, f_native, fi::LogitsMode::kAll);
  std::vector<float> l_hf = hf_engine->eval(ids, f_hf, fi::LogitsMode::kAll);
  ASSERT_GT(norm(l_hf), 0.0);
  EXPECT_LE(fi::max_relative_error(l_native, l_hf), 1e-6);

  // And the native copy passes the reference check on its own.
  fi::ReferenceCheckResult r =
      fi::run_reference_check(*native_engine, hf_dir / "expected.safetensors", {kTolerance});
  EXPECT_TRUE(r.passed) << fi::format_report(r);
}

TEST(Engine, ImagesAreEncodedIndependently) {
  // Block-diagonal attention: encoding two images together equals encoding each alone.
  auto engine = fi::load_engine(kData / "pixtral_tiny_b", {});
  fi::PixelImage a = random_image(48, 32, 3), b = random_image(16, 64, 4);
  std::vector<float> both = engine->encode_images(std::vector<fi::PixelImage>{a, b});
  std::vector<float> fa = engine->encode_images(std::vector<fi::PixelImage>{a});
  std::vector<float> fb = engine->encode_images(std::vector<fi::PixelImage>{b});
  ASSERT_EQ(both.size(), fa.size() + fb.size());
  std::vector<float> concat = fa;
  concat.insert(concat.end(), fb.begin(), fb.end());
  ASSERT_GT(norm(concat), 0.0);
  EXPECT_LE(fi::max_relative_error(both, concat), 1e-6);
}

TEST(Engine, ChunkedPrefillEqualsOnePass) {
  auto engine = fi::load_engine(kData / "pixtral_tiny_a", {});
  fi::TensorStore expected =
      fi::TensorStore::open(kData / "pixtral_tiny_a" / "expected.safetensors");
  std::vector<std::int64_t> ids64 = expected.load_i64("input_ids");
  std::vector<std::int32_t> ids(ids64.begin(), ids64.end());
  std::vector<fi::PixelImage> images = {random_image(48, 64, 5), random_image(80, 32, 6)};
  std::vector<float> feats = engine->encode_images(images);
  const std::int64_t d = engine->config().text.n_embd;

  std::vector<float> one = engine->eval(ids, feats, fi::LogitsMode::kAll);
  engine->truncate(0);
  // Three uneven chunks; each takes the image rows of its own [IMG] tokens.
  std::vector<float> chunked;
  std::size_t row = 0;
  for (auto [b, e] : {std::pair<std::size_t, std::size_t>{0, 7}, {7, 30}, {30, ids.size()}}) {
    std::span<const std::int32_t> chunk(ids.data() + b, e - b);
    std::size_t n_img = static_cast<std::size_t>(std::count(chunk.begin(), chunk.end(), 10));
    std::span<const float> rows(feats.data() + row * d, n_img * d);
    row += n_img;
    std::vector<float> l = engine->eval(chunk, rows, fi::LogitsMode::kAll);
    chunked.insert(chunked.end(), l.begin(), l.end());
  }
  EXPECT_EQ(engine->n_past(), static_cast<std::int64_t>(ids.size()));
  ASSERT_GT(norm(one), 0.0);
  EXPECT_LE(fi::max_relative_error(chunked, one), 1e-5);
}

TEST(Engine, RejectsMismatchedImageRowsAndKeepsTheCache) {
  auto engine = fi::load_engine(kData / "pixtral_tiny_a", {});
  std::vector<std::int32_t> text = {1, 3, 100, 200};
  engine->eval(text, {}, fi::LogitsMode::kNone);
  ASSERT_EQ(engine->n_past(), 4);
  std::vector<std::int32_t> with_image = {10, 10, 13};
  std::vector<float> one_row(static_cast<std::size_t>(engine->config().text.n_embd), 0.5f);
  EXPECT_THROW(engine->eval(with_image, one_row, fi::LogitsMode::kLast), framescribe::Error);
  EXPECT_EQ(engine->n_past(), 4);
  std::vector<std::int32_t> bad_token = {100000};
  EXPECT_THROW(engine->eval(bad_token, {}, fi::LogitsMode::kLast), framescribe::Error);
  fi::PixelImage odd{20, 16, std::vector<float>(3 * 20 * 16, 0.f)};
  EXPECT_THROW(engine->encode_images(std::vector<fi::PixelImage>{odd}), framescribe::Error);
}

TEST(Engine, ContextLimitIsEnforced) {
  fi::EngineOptions opts;
  opts.max_context_tokens = 8;
  auto engine = fi::load_engine(kData / "pixtral_tiny_a", opts);
  EXPECT_EQ(engine->max_context(), 8);
  std::vector<std::int32_t> nine(9, 100);
  EXPECT_THROW(engine->eval(nine, {}, fi::LogitsMode::kLast), framescribe::Error);
  EXPECT_EQ(engine->n_past(), 0);
}

TEST(Generate, GreedyMatchesTheReferenceAndSamplingIsSeeded) {
  const fs::path dir = kData / "pixtral_tiny_a";
  auto engine = fi::load_engine(dir, {});
  fi::TensorStore expected = fi::TensorStore::open(dir / "expected.safetensors");
  std::vector<std::int64_t> ids64 = expected.load_i64("input_ids");
  std::vector<std::int32_t> ids(ids64.begin(), ids64.end());
  std::vector<std::int64_t> gen64 = expected.load_i64("generated_ids");
  // Rebuild the fixture's images from its padded pixel_values.
  std::vector<float> pv = expected.load_f32("pixel_values", expected.find("pixel_values")->shape);
  std::vector<std::int64_t> sizes = expected.load_i64("image_sizes");
  const auto& shape = expected.find("pixel_values")->shape;
  std::vector<fi::PixelImage> images;
  for (std::int64_t i = 0; i < shape[0]; ++i) {
    const std::int64_t h = sizes[2 * i], w = sizes[2 * i + 1];
    fi::PixelImage img{static_cast<int>(w), static_cast<int>(h), std::vector<float>(3 * h * w)};
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x)
          img.chw[(c * h + y) * w + x] = pv[((i * 3 + c) * shape[2] + y) * shape[3] + x];
    images.push_back(std::move(img));
  }

  fi::GenerateOptions greedy;
  greedy.max_new_tokens = static_cast<int>(gen64.size());
  std::vector<std::int32_t> streamed;
  fi::GenerateResult r = fi::generate(*engine, ids, images, greedy, [&](std::int32_t t) {
    streamed.push_back(t);
    return true;
  });
  EXPECT_EQ(r.tokens, streamed);
  ASSERT_FALSE(r.tokens.empty());
  // The reference masked EOS (min_new_tokens); plain greedy agrees up to any EOS it meets.
  for (std::size_t i = 0; i < r.tokens.size(); ++i)
    EXPECT_EQ(r.tokens[i], gen64[i]) << "position " << i;
  if (r.stop_reason != fi::StopReason::kEos) {
    EXPECT_EQ(r.tokens.size(), gen64.size());
  }

  fi::GenerateOptions sampled;
  sampled.max_new_tokens = 12;
  sampled.stop_tokens = {-1};  // never stop early: compare full sequences
  sampled.sampling = {1.0f, 0.95f, 1234};
  fi::GenerateResult s1 = fi::generate(*engine, ids, images, sampled);
  fi::GenerateResult s2 = fi::generate(*engine, ids, images, sampled);
  EXPECT_EQ(s1.tokens, s2.tokens);
  EXPECT_EQ(s1.tokens.size(), 12u);
  sampled.sampling.seed = 99;
  fi::GenerateResult s3 = fi::generate(*engine, ids, images, sampled);
  EXPECT_NE(s1.tokens, s3.tokens);  // 12 draws at temperature 1 from a 512-token vocabulary

  fi::GenerateOptions stop_now;
  stop_now.max_new_tokens = 5;
  fi::GenerateResult c =
      fi::generate(*engine, ids, images, stop_now, [](std::int32_t) { return false; });
  EXPECT_EQ(c.stop_reason, fi::StopReason::kCallback);
  EXPECT_EQ(c.tokens.size(), 1u);
}

}  // namespace
