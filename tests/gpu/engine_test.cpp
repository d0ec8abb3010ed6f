// The CUDA engine end to end: the transformers fixtures A and B in bf16 (features, prompt
// logits, cached decode against logits_full, greedy tokens), chunked against unchunked prefill,
// request errors that leave the cache alone, and the real Pixtral-12B size with dummy weights.
//
// The bf16 tolerance (fixtures README: "within a few 1e-2 relative"): weights and GEMM inputs
// are rounded to bf16 (2^-9 relative each), and the error grows over 2-3 layers, the projector
// and the logit GEMM; kBf16Tol = 3e-2 of max|reference| is that budget. Greedy tokens must
// match wherever the reference's top-2 gap exceeds twice the observed logit error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <tuple>

#include "framescribe/core/error.h"
#include "framescribe/inference/attention_plan.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/reference_check.h"
#include "framescribe/inference/safetensors.h"
#include "gpu/gpu_test_util.h"
#include "sample_loop.h"

namespace framescribe::gpu_test {
namespace {

namespace fi = framescribe::inference;
namespace fs = std::filesystem;

// FS_TEST_DATA_DIR in the environment wins over the build-time path: the GPU machine runs
// binaries built elsewhere, from a copy of the tree at another path.
const fs::path kData = [] {
  const char* env = std::getenv("FS_TEST_DATA_DIR");
  return fs::path(env != nullptr && *env != '\0' ? env : FS_TEST_DATA_DIR) / "reference";
}();
constexpr double kBf16Tol = 3e-2;

// Comparisons below also require a non-zero reference: two all-zero outputs must not agree.
double max_abs(std::span<const float> v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

fi::EngineOptions cuda_options() {
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.max_context_tokens = 4096;  // the fixtures are short; keeps the cache small
  return o;
}

// Each fixture under --attention auto (cuDNN for the text paths where this machine's cuDNN
// serves them and its load-time self-test passes) and --attention own.
class CudaFixture : public ::testing::TestWithParam<std::tuple<const char*, fi::AttentionChoice>> {
};

TEST_P(CudaFixture, MatchesTransformersInBf16) {
  FS_REQUIRE_GPU();
  const fs::path dir = kData / std::get<0>(GetParam());
  fi::EngineOptions options = cuda_options();
  options.attention = std::get<1>(GetParam());
  auto engine = fi::load_engine(dir, options);
  EXPECT_EQ(engine->backend_name(), "cuda-bf16");
  const fi::ReferenceCheckResult r =
      fi::run_reference_check(*engine, dir / "expected.safetensors", {kBf16Tol});
  SCOPED_TRACE(fi::format_report(r));
  EXPECT_GT(r.n_images, 1);
  EXPECT_LE(r.image_features_rel_err, kBf16Tol);
  EXPECT_LE(r.logits_rel_err, kBf16Tol);
  EXPECT_LE(r.logits_full_rel_err, kBf16Tol);  // token-by-token cached decode

  // Greedy tokens: identical up to the first position where the reference itself is too close
  // to call (top-2 gap, EOS masked as the check does, under twice the absolute logit error).
  const fi::TensorStore store = fi::TensorStore::open(dir / "expected.safetensors");
  const fi::TensorInfo* info = store.find("logits_full");
  ASSERT_NE(info, nullptr);
  const std::vector<float> full = store.load_f32("logits_full", info->shape);
  const std::int64_t vocab = info->shape[1];
  double max_ref = 0.0;
  for (float v : full) max_ref = std::max(max_ref, std::fabs(static_cast<double>(v)));
  const double abs_err = 2.0 * std::max(r.logits_rel_err, r.logits_full_rel_err) * max_ref;
  std::size_t decidable = 0;
  for (; decidable < r.expected_tokens.size(); ++decidable) {
    const float* row =
        full.data() + (r.n_prompt_tokens - 1 + static_cast<std::int64_t>(decidable)) * vocab;
    float best = -std::numeric_limits<float>::infinity(), second = best;
    for (std::int64_t i = 0; i < vocab; ++i) {
      if (i == engine->config().eos_token_id) continue;
      if (row[i] > best) {
        second = best;
        best = row[i];
      } else if (row[i] > second) {
        second = row[i];
      }
    }
    if (best - second <= abs_err) break;
  }
  EXPECT_GE(static_cast<std::size_t>(r.tokens_matching), decidable)
      << decidable << " of " << r.expected_tokens.size()
      << " reference tokens are decidable at this error";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaFixture,
                         ::testing::Combine(::testing::Values("pixtral_tiny_a", "pixtral_tiny_b"),
                                            ::testing::Values(fi::AttentionChoice::kAuto,
                                                              fi::AttentionChoice::kOwn)),
                         [](const auto& test_param) {
                           return std::string(std::get<0>(test_param.param)) + "_" +
                                  std::string(fi::to_string(std::get<1>(test_param.param)));
                         });

// Prompt, images and features of a fixture, for the tests below.
struct FixtureInput {
  std::vector<std::int32_t> prompt;
  std::vector<float> features;
};

FixtureInput fixture_input(fi::Engine& engine, const fs::path& dir) {
  const fi::TensorStore store = fi::TensorStore::open(dir / "expected.safetensors");
  FixtureInput in;
  for (std::int64_t id : store.load_i64("input_ids"))
    in.prompt.push_back(static_cast<std::int32_t>(id));
  const fi::TensorInfo* info = store.find("image_features");
  // The reference features (float32) stand in for the images: the text path alone is tested.
  in.features = store.load_f32("image_features", info->shape);
  (void)engine;
  return in;
}

TEST(CudaEngine, ChunkedPrefillMatchesUnchunked) {
  FS_REQUIRE_GPU();
  const fs::path dir = kData / "pixtral_tiny_b";
  fi::EngineOptions whole = cuda_options(), chunked = cuda_options();
  chunked.prefill_chunk_tokens = 5;  // many chunks, not a divisor of the prompt length
  auto a = fi::load_engine(dir, whole);
  auto b = fi::load_engine(dir, chunked);
  const FixtureInput in = fixture_input(*a, dir);
  const std::vector<float> la = a->eval(in.prompt, in.features, fi::LogitsMode::kAll);
  const std::vector<float> lb = b->eval(in.prompt, in.features, fi::LogitsMode::kAll);
  // Same function; chunking changes GEMM shapes (cuBLASLt algorithms, summation order) and so
  // which intermediate values round differently to bf16: a small fraction of the bf16 budget.
  ASSERT_GT(max_abs(la), 0.0);
  EXPECT_LE(fi::max_relative_error(lb, la), 1e-2);
  b->truncate(0);
  const std::vector<float> last = b->eval(in.prompt, in.features, fi::LogitsMode::kLast);
  const std::int64_t vocab = a->config().text.n_vocab;
  EXPECT_LE(fi::max_relative_error(last, std::span<const float>(la).subspan(la.size() - vocab)),
            1e-2);
  EXPECT_EQ(b->n_past(), static_cast<std::int64_t>(in.prompt.size()));
}

TEST(CudaEngine, CachedDecodeMatchesOnePass) {
  FS_REQUIRE_GPU();
  const fs::path dir = kData / "pixtral_tiny_a";
  auto engine = fi::load_engine(dir, cuda_options());
  const FixtureInput in = fixture_input(*engine, dir);
  const std::vector<float> all = engine->eval(in.prompt, in.features, fi::LogitsMode::kAll);
  ASSERT_GT(max_abs(all), 0.0);
  // Prefill all but the last 3 tokens (all text tokens: the prompt ends with text and [/INST]),
  // then decode them one by one.
  const std::size_t n = in.prompt.size(), vocab = engine->config().text.n_vocab;
  for (std::size_t i = n - 3; i < n; ++i) ASSERT_NE(in.prompt[i], engine->config().image_token_id);
  engine->truncate(0);
  (void)engine->eval(std::span(in.prompt).first(n - 3), in.features, fi::LogitsMode::kNone);
  for (std::size_t i = n - 3; i < n; ++i) {
    const std::vector<float> l =
        engine->eval(std::span(in.prompt).subspan(i, 1), {}, fi::LogitsMode::kLast);
    EXPECT_LE(fi::max_relative_error(l, std::span<const float>(all).subspan(i * vocab, vocab)),
              1e-2)
        << "position " << i;
  }
}

TEST(CudaEngine, RepeatedEvalIsDeterministic) {
  FS_REQUIRE_GPU();
  const fs::path dir = kData / "pixtral_tiny_a";
  auto engine = fi::load_engine(dir, cuda_options());
  const FixtureInput in = fixture_input(*engine, dir);
  const std::vector<float> a = engine->eval(in.prompt, in.features, fi::LogitsMode::kLast);
  engine->truncate(0);
  const std::vector<float> b = engine->eval(in.prompt, in.features, fi::LogitsMode::kLast);
  EXPECT_LE(fi::max_relative_error(a, b), 1e-6);
  double norm = 0.0;
  for (float v : a) norm += std::fabs(v);
  EXPECT_GT(norm, 0.0);
}

TEST(CudaEngine, SteadyStateAllocatesNothing) {
  FS_REQUIRE_GPU();
  // After a warm-up window (GEMM plans, lazily loaded kernels), another window must not change
  // the device's free memory: everything was allocated at load.
  const fs::path dir = kData / "pixtral_tiny_b";
  auto engine = fi::load_engine(dir, cuda_options());
  const FixtureInput in = fixture_input(*engine, dir);
  auto window = [&] {
    engine->truncate(0);
    (void)engine->eval(in.prompt, in.features, fi::LogitsMode::kAll);
    const std::int32_t text = 100;  // one decode step of an ordinary token, then a greedy one
    const std::vector<float> l = engine->eval({&text, 1}, {}, fi::LogitsMode::kLast);
    const std::int32_t next = fi::argmax(l);
    (void)engine->eval({&next, 1}, {}, fi::LogitsMode::kLast);
  };
  window();
  std::size_t free_before = 0, free_after = 0, total = 0;
  FS_CUDA_CHECK(cudaDeviceSynchronize());
  FS_CUDA_CHECK(cudaMemGetInfo(&free_before, &total));
  window();
  FS_CUDA_CHECK(cudaDeviceSynchronize());
  FS_CUDA_CHECK(cudaMemGetInfo(&free_after, &total));
  EXPECT_EQ(free_after, free_before);
}

TEST(CudaEngine, ImageGroupsGiveTheSameFeatures) {
  FS_REQUIRE_GPU();
  // With image_size_px 96 (at most 6x6 patches) and vision_batch_tokens 1, a step holds at most
  // 36 patches (one whole image of the largest size): the images go in three steps (12 + 10,
  // 36, 1 patches); the features must be those of one step over all images.
  fi::ModelConfig cfg = fi::load_model_config(kData / "pixtral_tiny_a");
  cfg.vision.image_size_px = 96;
  fi::EngineOptions one_by_one = cuda_options();
  one_by_one.vision_batch_tokens = 1;
  auto a = fi::make_engine(cfg, cuda_options());
  auto b = fi::make_engine(cfg, one_by_one);
  std::vector<fi::PixelImage> images;
  for (const auto& [w, h] : {std::pair<int, int>{64, 48}, {32, 80}, {96, 96}, {16, 16}}) {
    images.push_back(
        {w, h, random_floats(3ull * w * h, static_cast<std::uint32_t>(3 * w + h), -2.0f, 2.0f)});
  }
  const std::vector<float> fa = a->encode_images(images);
  const std::vector<float> fb = b->encode_images(images);
  ASSERT_EQ(fa.size(), static_cast<std::size_t>((12 + 10 + 36 + 1) * cfg.text.n_embd));
  ASSERT_GT(max_abs(fa), 0.0);
  // Same computation per image; only GEMM shapes (and so cuBLASLt's summation order) differ.
  EXPECT_LE(fi::max_relative_error(fb, fa), 1e-2);
}

TEST(CudaEngine, RejectedRequestsLeaveTheCacheAlone) {
  FS_REQUIRE_GPU();
  const fs::path dir = kData / "pixtral_tiny_a";
  fi::EngineOptions o = cuda_options();
  o.max_context_tokens = 64;
  auto engine = fi::load_engine(dir, o);
  const std::vector<std::int32_t> text(40, 100);  // an ordinary id of the tiny vocabulary
  (void)engine->eval(text, {}, fi::LogitsMode::kNone);
  EXPECT_EQ(engine->n_past(), 40);
  try {
    (void)engine->eval(text, {}, fi::LogitsMode::kLast);  // 80 > 64
    ADD_FAILURE() << "no error for a full context";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kInvalidArgument);
  }
  const std::vector<std::int32_t> one_image{1, engine->config().image_token_id, 4};
  EXPECT_THROW((void)engine->eval(one_image, {}, fi::LogitsMode::kLast), framescribe::Error);
  EXPECT_EQ(engine->n_past(), 40);
  engine->truncate(10);
  EXPECT_EQ(engine->n_past(), 10);
  // Still usable after rejected requests.
  const std::vector<float> l = engine->eval(text, {}, fi::LogitsMode::kLast);
  EXPECT_EQ(l.size(), static_cast<std::size_t>(engine->config().text.n_vocab));
}

TEST(CudaEngine, DummyWeightsAtRealPixtralSize) {
  FS_REQUIRE_GPU();
  // 12.7 B parameters of random bf16 weights (25.4 GB) generated on the device, a 4k cache.
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = fi::LoadFormat::kDummy;
  o.max_context_tokens = 4096;
  auto engine = fi::make_engine(fi::pixtral_12b_config(), o);
  const fi::ModelConfig& c = engine->config();
  EXPECT_EQ(c.text.n_embd, 5120);
  EXPECT_EQ(fi::count_parameters(c).total(), 12682739712LL);

  // Two images of different sizes; their features fill the [IMG] rows of a prompt.
  std::vector<fi::PixelImage> images;
  for (const auto& [w, h] : {std::pair<int, int>{64, 48}, {32, 80}}) {
    fi::PixelImage img{w, h,
                       random_floats(3ull * w * h, static_cast<std::uint32_t>(w + h), -2.0f, 2.0f)};
    images.push_back(std::move(img));
  }
  const std::vector<float> feats = engine->encode_images(images);
  const std::int64_t n_patches = 4 * 3 + 2 * 5;
  ASSERT_EQ(feats.size(), static_cast<std::size_t>(n_patches * c.text.n_embd));
  std::vector<std::int32_t> prompt{1, 3};
  for (std::int64_t i = 0; i < n_patches; ++i) prompt.push_back(c.image_token_id);
  for (int i = 0; i < 300; ++i) prompt.push_back(1000 + (i * 7919) % 130000);
  prompt.push_back(4);
  const std::vector<float> l = engine->eval(prompt, feats, fi::LogitsMode::kLast);
  ASSERT_EQ(l.size(), static_cast<std::size_t>(c.text.n_vocab));
  double norm = 0.0;
  for (float v : l) {
    ASSERT_TRUE(std::isfinite(v));
    norm += std::fabs(v);
  }
  EXPECT_GT(norm, 0.0);
  const std::int32_t next = fi::argmax(l);
  const std::vector<float> l2 = engine->eval({&next, 1}, {}, fi::LogitsMode::kLast);
  for (float v : l2) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(engine->n_past(), static_cast<std::int64_t>(prompt.size()) + 1);
}

TEST(CudaEngine, NoDeviceIsAClearError) {
  if (have_gpu()) GTEST_SKIP() << "a CUDA device is present; this checks the error without one";
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = fi::LoadFormat::kDummy;
  try {
    (void)fi::make_engine(fi::pixtral_12b_config(), o);
    ADD_FAILURE() << "no error without a device";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
  }
}

// Real head shapes (text GQA 32/8 with head_dim 128, q width 4096 != n_embd as in Pixtral-12B;
// vision head_dim 64) at a size the CPU engine runs in seconds. Both engines generate the same
// bf16 dummy weights from a seed (src/dummy_weights.h), so this compares them without any
// checkpoint: features, prompt logits and a cached decode within the bf16 tolerance.
TEST(CudaEngine, DummyWeightsMatchTheCpuEngineAtRealHeadShapes) {
  FS_REQUIRE_GPU();
  fi::ModelConfig c = fi::pixtral_12b_config();
  c.text.n_embd = 1024;
  c.text.n_layer = 2;
  c.text.n_ff = 2816;
  c.text.n_vocab = 5000;
  c.text.max_context = 2048;
  c.vision.n_embd = 256;
  c.vision.n_head = 4;
  c.vision.n_layer = 2;
  c.vision.n_ff = 1024;
  fi::EngineOptions o;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = 5;
  o.max_context_tokens = 2048;
  auto cpu = fi::make_engine(c, o);
  o.device = fi::Device::kCuda;
  o.prefill_chunk_tokens = 96;  // several chunks, the last one partial
  auto gpu = fi::make_engine(c, o);

  std::vector<fi::PixelImage> images;
  for (const auto& [w, h] : {std::pair<int, int>{48, 80}, {112, 16}}) {
    images.push_back(
        {w, h, random_floats(3ull * w * h, static_cast<std::uint32_t>(w * h), -2.0f, 2.0f)});
  }
  const std::vector<float> f_cpu = cpu->encode_images(images);
  const std::vector<float> f_gpu = gpu->encode_images(images);
  ASSERT_EQ(f_cpu.size(), f_gpu.size());
  EXPECT_GT(max_abs(f_cpu), 0.0);
  EXPECT_LE(fi::max_relative_error(f_gpu, f_cpu), kBf16Tol);

  const std::int64_t patches = 3 * 5 + 7 * 1;
  std::vector<std::int32_t> prompt{1, 3};
  for (std::int64_t i = 0; i < patches; ++i) prompt.push_back(c.image_token_id);
  for (int i = 0; i < 250; ++i) prompt.push_back(20 + (i * 7919) % 4900);
  prompt.push_back(4);
  std::vector<float> l_cpu = cpu->eval(prompt, f_cpu, fi::LogitsMode::kLast);
  std::vector<float> l_gpu = gpu->eval(prompt, f_cpu, fi::LogitsMode::kLast);
  EXPECT_GT(max_abs(l_cpu), 0.0);
  EXPECT_LE(fi::max_relative_error(l_gpu, l_cpu), kBf16Tol);
  // Cached decode: the CPU engine's greedy tokens fed to both.
  for (int step = 0; step < 4; ++step) {
    const std::int32_t next = fi::argmax(l_cpu);
    l_cpu = cpu->eval({&next, 1}, {}, fi::LogitsMode::kLast);
    l_gpu = gpu->eval({&next, 1}, {}, fi::LogitsMode::kLast);
    EXPECT_LE(fi::max_relative_error(l_gpu, l_cpu), kBf16Tol) << "decode step " << step;
  }
}

// Issue 18: the attention plan is decided at load, and both paths compute the same model. At
// real text head shapes (GQA 32/8, head_dim 128; dummy weights), --attention own and
// --attention cudnn (where this machine's cuDNN serves the text paths; a load error naming
// --attention cudnn where it cannot, never a silent switch) against the CPU engine: prompt
// logits over several prefill chunks and cached decode steps. Never ran on a GPU so far.
TEST(CudaEngine, BothAttentionPathsMatchTheCpuEngine) {
  FS_REQUIRE_GPU();
  fi::ModelConfig c = fi::pixtral_12b_config();
  c.text.n_embd = 512;
  c.text.n_layer = 2;
  c.text.n_ff = 1024;
  c.text.n_vocab = 2000;
  c.text.max_context = 1024;
  c.vision.n_layer = 1;
  c.vision.n_embd = 128;
  c.vision.n_ff = 128;
  c.vision.n_head = 2;
  fi::EngineOptions o;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = 9;
  o.max_context_tokens = 1024;
  auto cpu = fi::make_engine(c, o);
  std::vector<std::int32_t> prompt{1};
  for (int i = 0; i < 300; ++i) prompt.push_back(20 + (i * 7919) % 1900);
  const std::vector<float> want = cpu->eval(prompt, {}, fi::LogitsMode::kLast);
  ASSERT_GT(max_abs(want), 0.0);
  std::vector<std::vector<float>> want_steps;
  std::vector<std::int32_t> steps;
  std::vector<float> l = want;
  for (int step = 0; step < 3; ++step) {
    steps.push_back(fi::argmax(l));
    l = cpu->eval({&steps.back(), 1}, {}, fi::LogitsMode::kLast);
    want_steps.push_back(l);
  }

  o.device = fi::Device::kCuda;
  o.prefill_chunk_tokens = 128;  // three chunks, the last one partial
  const fi::CudaSetupReport setup = fi::cuda_setup_report(c, fi::AttentionChoice::kCudnn);
  for (fi::AttentionChoice a : {fi::AttentionChoice::kOwn, fi::AttentionChoice::kCudnn}) {
    SCOPED_TRACE(std::string(fi::to_string(a)));
    o.attention = a;
    if (a == fi::AttentionChoice::kCudnn && !setup.plan_error.empty()) {
      // This machine's cuDNN cannot serve a path: the load must say so.
      try {
        (void)fi::make_engine(c, o);
        ADD_FAILURE() << "--attention cudnn loaded although: " << setup.plan_error;
      } catch (const framescribe::Error& e) {
        EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported) << e.what();
        EXPECT_NE(std::string(e.what()).find("--attention cudnn"), std::string::npos);
      }
      continue;
    }
    auto gpu = fi::make_engine(c, o);  // --attention cudnn: plans built and self-tested here
    EXPECT_LE(fi::max_relative_error(gpu->eval(prompt, {}, fi::LogitsMode::kLast), want), kBf16Tol);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      EXPECT_LE(fi::max_relative_error(gpu->eval({&steps[i], 1}, {}, fi::LogitsMode::kLast),
                                       want_steps[i]),
                kBf16Tol)
          << "decode step " << i;
    }
  }
}

// Issue 19: eval_greedy chooses on the device (argmax.cu inside the decode-step graph, 4 bytes
// back). Two CUDA engines with the same dummy weights, one through eval (logits to the host,
// greedy_choice there), one through eval_greedy: the same tokens over a chunked prefill and
// eight cached steps (the first eager, the second captured, the rest graph replays).
TEST(CudaEngine, EvalGreedyEqualsTheArgmaxOfItsOwnLogits) {
  FS_REQUIRE_GPU();
  fi::ModelConfig c = fi::pixtral_12b_config();
  c.text.n_embd = 512;
  c.text.n_layer = 2;
  c.text.n_ff = 1024;
  c.text.n_vocab = 2000;
  c.text.max_context = 1024;
  c.vision.n_layer = 1;
  c.vision.n_embd = 128;
  c.vision.n_ff = 128;
  c.vision.n_head = 2;
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = 11;
  o.max_context_tokens = 1024;
  o.prefill_chunk_tokens = 128;
  auto with_logits = fi::make_engine(c, o);
  auto greedy = fi::make_engine(c, o);
  std::vector<std::int32_t> prompt{1};
  for (int i = 0; i < 300; ++i) prompt.push_back(20 + (i * 7919) % 1900);
  std::vector<float> l = with_logits->eval(prompt, {}, fi::LogitsMode::kLast);
  ASSERT_GT(max_abs(l), 0.0);
  std::int32_t want = fi::greedy_choice(l, c.image_token_id);
  std::int32_t got = greedy->eval_greedy(prompt, {});
  EXPECT_EQ(got, want) << "prompt";
  for (int step = 0; step < 8 && got == want; ++step) {
    l = with_logits->eval({&want, 1}, {}, fi::LogitsMode::kLast);
    got = greedy->eval_greedy({&got, 1}, {});
    want = fi::greedy_choice(l, c.image_token_id);
    EXPECT_EQ(got, want) << "step " << step;
    EXPECT_NE(got, c.image_token_id);
  }
  EXPECT_EQ(greedy->n_past(), with_logits->n_past());
}

}  // namespace
}  // namespace framescribe::gpu_test
