// The CUDA batch engine (issue 24; inference/src/cuda/cuda_batch_engine.h) against the CPU
// batch engine: both generate the same dummy weights from a seed (src/dummy_weights.h), so the
// same random mix of sequences, image prompts, forks, truncations, mixed decode/prefill steps
// and releases must give the same logits within the bf16 tolerance of engine_test.cpp
// (kBf16Tol = 3e-2 of max|reference|), the same rows, and the same block bookkeeping. Also:
// every block free after release, request errors of the same kinds as the CPU engine that
// change nothing, a pool that does not fit (kOutOfMemory naming the pool), no device.
// Label gpu: every test that needs a device reports SKIPPED without one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/reference_check.h"
#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

namespace fi = framescribe::inference;
constexpr double kBf16Tol = 3e-2;

double max_abs(std::span<const float> v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

std::optional<ErrorCode> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

// Real text head shapes (GQA 32/8, head_dim 128) at a size the CPU engine runs in seconds.
fi::ModelConfig small_real_heads() {
  fi::ModelConfig c = fi::pixtral_12b_config();
  c.text.n_embd = 1024;
  c.text.n_layer = 2;
  c.text.n_ff = 2816;
  c.text.n_vocab = 5000;
  c.text.max_context = 1024;
  c.vision.n_embd = 256;
  c.vision.n_head = 4;
  c.vision.n_layer = 2;
  c.vision.n_ff = 1024;
  return c;
}

struct Rng {  // an LCG: the same mix on every platform
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint32_t>(n)); }
};

struct Pair {
  std::unique_ptr<fi::BatchEngine> cpu, gpu;
};

Pair make_pair(const fi::ModelConfig& c, std::uint64_t seed, const fi::KvCacheOptions& kv,
               std::int64_t chunk) {
  fi::EngineOptions o;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = seed;
  Pair p;
  p.cpu = fi::make_batch_engine(c, o, kv);
  o.device = fi::Device::kCuda;
  o.prefill_chunk_tokens = chunk;  // steps longer than this run in several packed chunks
  p.gpu = fi::make_batch_engine(c, o, kv);
  return p;
}

// Runs the same spans on both engines and compares every returned row.
void step_both(Pair& p, const std::vector<fi::StepSpan>& spans, const std::string& what) {
  const fi::StepResult a = p.cpu->step(spans);
  const fi::StepResult b = p.gpu->step(spans);
  ASSERT_EQ(a.first_row, b.first_row) << what;
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.logits.size(), b.logits.size()) << what;
  for (std::int64_t r = 0; r < a.rows(); ++r) {
    ASSERT_GT(max_abs(a.row(r)), 0.0) << what << " row " << r;
    for (float v : b.row(r)) ASSERT_TRUE(std::isfinite(v)) << what << " row " << r;
    EXPECT_LE(fi::max_relative_error(b.row(r), a.row(r)), kBf16Tol) << what << " row " << r;
  }
  const fi::KvStats sa = p.cpu->kv_stats(), sb = p.gpu->kv_stats();
  EXPECT_EQ(sa.blocks_free, sb.blocks_free) << what;
  EXPECT_EQ(sa.blocks_shared, sb.blocks_shared) << what;
  EXPECT_EQ(sa.sequences, sb.sequences) << what;
}

std::vector<std::int32_t> random_tokens(Rng& rng, int n, int vocab) {
  std::vector<std::int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(20 + rng.below(vocab - 20));
  return t;
}

TEST(CudaBatchEngine, RandomMixesMatchTheCpuBatchEngine) {
  FS_REQUIRE_GPU();
  const fi::ModelConfig c = small_real_heads();
  const fi::KvCacheOptions kv{.block_tokens = 16, .cache_tokens = 8192};
  Pair p = make_pair(c, 21, kv, 96);

  // One image prompt: features from the CPU engine fed to both (the features themselves are
  // compared by engine_test.cpp's DummyWeightsMatchTheCpuEngineAtRealHeadShapes).
  const fi::PixelImage image{48, 80, random_floats(3ull * 48 * 80, 7, -2.0f, 2.0f)};
  const fi::PixelImage* images[] = {&image};
  const std::vector<float> feats = p.cpu->encode_images(images);
  const std::int64_t patches = 3 * 5;
  ASSERT_EQ(static_cast<std::int64_t>(feats.size()), patches * c.text.n_embd);

  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Rng rng{seed};
    std::vector<fi::SeqId> live;
    std::vector<std::vector<std::int32_t>> keep;  // spans' tokens outlive the step
    for (int round = 0; round < 12; ++round) {
      const std::string what = "seed " + std::to_string(seed) + " round " + std::to_string(round);
      const int op = rng.below(10);
      if (live.size() < 2 || op < 2) {
        live.push_back(p.cpu->create());
        ASSERT_EQ(p.gpu->create(), live.back()) << what;
        // A prompt with an image in it, or plain text; long ones cross several chunks.
        std::vector<std::int32_t> prompt{1, 3};
        const bool with_image = rng.below(2) == 0;
        if (with_image)
          for (std::int64_t i = 0; i < patches; ++i) prompt.push_back(c.image_token_id);
        for (std::int32_t t : random_tokens(rng, 5 + rng.below(200), 4900)) prompt.push_back(t);
        keep.push_back(prompt);
        const std::vector<fi::StepSpan> s = {
            {live.back(), keep.back(),
             with_image ? std::span<const float>(feats) : std::span<const float>(),
             rng.below(2) == 0 ? fi::LogitsMode::kLast : fi::LogitsMode::kAll}};
        step_both(p, s, what + " prefill");
      } else if (op < 4) {
        // Fork (shares every block; a partial last block is copied on the first write).
        const fi::SeqId src = live[static_cast<std::size_t>(rng.below(int(live.size())))];
        live.push_back(p.cpu->fork(src));
        ASSERT_EQ(p.gpu->fork(src), live.back()) << what;
      } else if (op < 5) {
        const fi::SeqId s = live[static_cast<std::size_t>(rng.below(int(live.size())))];
        const std::int64_t n = p.cpu->length(s) * rng.below(100) / 100;
        p.cpu->truncate(s, n);
        p.gpu->truncate(s, n);
        ASSERT_EQ(p.gpu->length(s), p.cpu->length(s)) << what;
      } else if (op < 6 && live.size() > 2) {
        const std::size_t i = static_cast<std::size_t>(rng.below(int(live.size())));
        p.cpu->release(live[i]);
        p.gpu->release(live[i]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        // A mixed step: one-token decodes and short prefill chunks of several sequences.
        std::vector<fi::StepSpan> spans;
        for (fi::SeqId s : live) {
          if (rng.below(4) == 0) continue;
          keep.push_back(random_tokens(rng, rng.below(3) == 0 ? 2 + rng.below(40) : 1, 4900));
          const int mode = rng.below(3);
          spans.push_back({s,
                           keep.back(),
                           {},
                           mode == 0   ? fi::LogitsMode::kNone
                           : mode == 1 ? fi::LogitsMode::kLast
                                       : fi::LogitsMode::kAll});
        }
        step_both(p, spans, what + " mixed step");
      }
      p.gpu->kv_table().check_consistency();
    }
    for (fi::SeqId s : live) {
      p.cpu->release(s);
      p.gpu->release(s);
    }
    const fi::KvStats st = p.gpu->kv_stats();
    EXPECT_EQ(st.blocks_free, st.blocks_total);
    EXPECT_EQ(st.sequences, 0);
    p.gpu->kv_table().check_consistency();
  }
}

// Forks off a partial block write into a private copy: the fork's decode equals the same tokens
// run on a fresh sequence, and the source's next step is not disturbed by the fork's write.
TEST(CudaBatchEngine, CopyOnWriteKeepsForksApart) {
  FS_REQUIRE_GPU();
  const fi::ModelConfig c = small_real_heads();
  Pair p = make_pair(c, 22, {.block_tokens = 16, .cache_tokens = 2048}, 2048);
  Rng rng{9};
  const std::vector<std::int32_t> prompt = random_tokens(rng, 37, 4900);  // 2 blocks + 5
  const std::vector<std::int32_t> ta{100}, tb{200};
  const fi::SeqId a = p.gpu->create(), fresh = p.gpu->create();
  (void)p.cpu->create(), (void)p.cpu->create();
  step_both(p, {{a, prompt, {}, fi::LogitsMode::kNone}}, "prefill");
  const fi::SeqId b = p.gpu->fork(a);
  ASSERT_EQ(p.cpu->fork(a), b);
  EXPECT_EQ(p.gpu->kv_stats().blocks_shared, 3);
  // Both write position 37 in the same step: two copies of the shared partial block.
  step_both(p, {{a, ta, {}, fi::LogitsMode::kLast}, {b, tb, {}, fi::LogitsMode::kLast}}, "both");
  std::vector<std::int32_t> whole = prompt;
  whole.push_back(200);
  const fi::StepSpan f{fresh, whole, {}, fi::LogitsMode::kLast};
  const fi::StepResult rf = p.gpu->step({&f, 1});
  const std::vector<std::int32_t> next{300};
  const fi::StepSpan nb{b, next, {}, fi::LogitsMode::kLast};
  const fi::StepSpan nf{fresh, next, {}, fi::LogitsMode::kLast};
  const fi::StepResult rb = p.gpu->step({&nb, 1});
  const fi::StepResult rf2 = p.gpu->step({&nf, 1});
  ASSERT_GT(max_abs(rf2.logits), 0.0);
  EXPECT_LE(fi::max_relative_error(rb.logits, rf2.logits), kBf16Tol);
  ASSERT_GT(max_abs(rf.logits), 0.0);
  for (fi::SeqId s : {a, b, fresh}) p.gpu->release(s);
  EXPECT_EQ(p.gpu->kv_stats().blocks_free, p.gpu->kv_stats().blocks_total);
}

// Requests that cannot be right: the CPU engine's error kinds, and nothing changes (lengths,
// free blocks); a good step afterwards still matches.
TEST(CudaBatchEngine, RejectedStepsChangeNothing) {
  FS_REQUIRE_GPU();
  const fi::ModelConfig c = small_real_heads();
  Pair p = make_pair(c, 23, {.block_tokens = 16, .cache_tokens = 64}, 2048);
  const fi::SeqId a = p.cpu->create(), b = p.cpu->create();
  ASSERT_EQ(p.gpu->create(), a);
  ASSERT_EQ(p.gpu->create(), b);
  const std::vector<std::int32_t> ok{1, 20, 30}, bad{1, -5}, img{1, c.image_token_id}, many(80, 21);
  const std::vector<float> one_row(static_cast<std::size_t>(c.text.n_embd), 0.5f);
  const std::vector<std::vector<fi::StepSpan>> cases = {
      {{999, ok, {}, fi::LogitsMode::kLast}},     // unknown sequence
      {{a, bad, {}, fi::LogitsMode::kLast}},      // bad token
      {{a, img, {}, fi::LogitsMode::kLast}},      // image rows missing
      {{a, ok, one_row, fi::LogitsMode::kLast}},  // rows without [IMG]
      {{a, ok, {}, fi::LogitsMode::kNone}, {a, ok, {}, fi::LogitsMode::kLast}},  // repeated
      {{a, many, {}, fi::LogitsMode::kLast}},  // more than the pool
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::optional<ErrorCode> want = error_of([&] { p.cpu->step(cases[i]); });
    ASSERT_TRUE(want.has_value()) << "case " << i;
    EXPECT_EQ(error_of([&] { p.gpu->step(cases[i]); }), want) << "case " << i;
    EXPECT_EQ(p.gpu->length(a), 0) << "case " << i;
    EXPECT_EQ(p.gpu->kv_stats().blocks_free, p.gpu->kv_stats().blocks_total) << "case " << i;
  }
  step_both(p, {{a, ok, {}, fi::LogitsMode::kNone}, {b, ok, {}, fi::LogitsMode::kAll}}, "good");
}

TEST(CudaBatchEngine, APoolThatDoesNotFitIsOutOfMemoryNamingIt) {
  FS_REQUIRE_GPU();
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = fi::LoadFormat::kDummy;
  try {
    // 2^30 positions x 2 layers x 2 x 1024 x 2 bytes: 8 TiB.
    (void)fi::make_batch_engine(small_real_heads(), o,
                                {.block_tokens = 16, .cache_tokens = std::int64_t{1} << 30});
    ADD_FAILURE() << "an 8 TiB pool was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
    EXPECT_NE(std::string(e.what()).find("KV pool"), std::string::npos) << e.what();
  }
}

TEST(CudaBatchEngine, NoDeviceIsAClearError) {
  if (have_gpu()) GTEST_SKIP() << "a CUDA device is present; this checks the error without one";
  fi::EngineOptions o;
  o.device = fi::Device::kCuda;
  o.load_format = fi::LoadFormat::kDummy;
  EXPECT_EQ(error_of([&] { (void)fi::make_batch_engine(small_real_heads(), o, {}); }),
            std::optional<ErrorCode>(ErrorCode::kUnsupported));
}

}  // namespace
}  // namespace framescribe::gpu_test
