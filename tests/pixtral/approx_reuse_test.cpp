// Approximate KV reuse in the Pixtral window engine (issue 24, opt-in approximate_reuse): on
// the demo model (CPU engine, which implements Engine::shift_out) and frames FFmpeg decodes
// from samples/shapes-demo.mp4. A window that slid keeps the frames it shares with the previous
// one, shifted: it prefills exactly the new frame and the instruction (counted from the coster's
// sizes, not from the engine); answers stay well-formed. Where nothing slides (plan.moved == 0)
// answers and scores are bit for bit those of exact reuse; an engine without shift
// (kUnsupported) falls back to exact answers; another shift failure recomputes the prompt whole.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/window_engine.h"
#include "pixtral/demo_windows.h"

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

using namespace framescribe::testing::demo_windows;

// Engine wrapper: shift_out throws `code` (after corrupting the sequence when `corrupt`).
class NoShiftEngine final : public fi::Engine {
 public:
  NoShiftEngine(std::unique_ptr<fi::Engine> inner, ErrorCode code, bool corrupt)
      : in_(std::move(inner)), code_(code), corrupt_(corrupt) {}
  int shifts = 0;
  const fi::ModelConfig& config() const override { return in_->config(); }
  std::string_view backend_name() const override { return in_->backend_name(); }
  std::vector<float> encode_images(std::span<const fi::PixelImage* const> images) override {
    return in_->encode_images(images);
  }
  std::vector<float> eval(std::span<const std::int32_t> tokens, std::span<const float> rows,
                          fi::LogitsMode mode) override {
    return in_->eval(tokens, rows, mode);
  }
  std::int64_t n_past() const override { return in_->n_past(); }
  std::int64_t max_context() const override { return in_->max_context(); }
  void truncate(std::int64_t n) override { in_->truncate(n); }
  void shift_out(std::int64_t begin, std::int64_t end) override {
    ++shifts;
    if (corrupt_) in_->shift_out(begin + 1, end);  // half done, then "failed"
    throw Error(code_, "injected shift failure");
  }

 private:
  std::unique_ptr<fi::Engine> in_;
  ErrorCode code_;
  bool corrupt_;
};

std::unique_ptr<fp::PixtralWindowEngine> demo(bool approximate,
                                              std::unique_ptr<fi::Engine> engine = nullptr) {
  const fi::EngineChoice choice;
  fi::EngineOptions eo = fi::engine_options(choice);
  eo.n_threads = 1;
  fp::PixtralWindowOptions wo;
  wo.max_answer_tokens = 12;
  wo.model_name = "demo";
  wo.fork_questions = false;
  wo.approximate_reuse = approximate;
  if (!engine) engine = fi::load_engine(kDemo, eo);
  return std::make_unique<fp::PixtralWindowEngine>(fi::load_config(kDemo, choice),
                                                   fi::Tokenizer::load(fi::find_tokenizer(kDemo)),
                                                   std::move(engine), wo);
}

std::unique_ptr<fi::Engine> demo_engine() {
  fi::EngineOptions eo = fi::engine_options(fi::EngineChoice{});
  eo.n_threads = 1;
  return fi::load_engine(kDemo, eo);
}

// Well-formed: scores are probabilities over the answers; answers have tokens and valid UTF-8.
void expect_well_formed(const Outcome& o, const Outcome& exact, const std::string& what) {
  ASSERT_EQ(o.scores.size(), kQuestions.size()) << what;
  for (std::size_t i = 0; i < o.scores.size(); ++i) {
    ASSERT_EQ(o.scores[i].size(), kQuestions[i].answers.size()) << what;
    double sum = 0;
    for (double p : o.scores[i]) {
      EXPECT_TRUE(std::isfinite(p) && p >= 0 && p <= 1) << what << " question " << i;
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-9) << what;
  }
  for (const auto& [x, y] : {std::pair{&o.plain_answer, &exact.plain_answer},
                             std::pair{&o.carried_answer, &exact.carried_answer}}) {
    EXPECT_GT(x->answer_tokens, 0) << what;
    EXPECT_LE(x->answer_tokens, 12) << what;
    EXPECT_EQ(x->prompt_hash, y->prompt_hash) << what;  // the same prompt was asked
    EXPECT_EQ(x->prompt_tokens, y->prompt_tokens) << what;
    EXPECT_FALSE(x->abandoned) << what;
    EXPECT_FALSE(x->text.empty()) << what;
  }
}

TEST(PixtralApproxReuse, ASlidWindowPrefillsOnlyItsNewFrameAndInstruction) {
  const std::vector<core::Frame> f = clip_frames(5, 10, 64, 64, 20);
  ASSERT_EQ(f.size(), 5u);
  auto approx = demo(true), exact = demo(false);
  const pipeline::PromptCoster& c = approx->coster();
  core::StopFlag stop;
  const pipeline::WindowPlan a = plan_of(*approx, slice(f, 0, 4), 0);
  const pipeline::WindowPlan b = plan_of(*approx, slice(f, 1, 5), 1);
  (void)approx->describe(a, {}, stop);
  (void)exact->describe(a, {}, stop);
  const fp::PixtralEngineStats a0 = approx->stats(), e0 = exact->stats();
  EXPECT_EQ(a0.prefilled_tokens, e0.prefilled_tokens);
  EXPECT_EQ(a0.approx_reused_tokens, 0);
  const pipeline::WindowAnswer ab = approx->describe(b, {}, stop);
  const pipeline::WindowAnswer eb = exact->describe(b, {}, stop);
  // Independently of the engine: B's new frame (label and image), its instruction and [/INST].
  const std::int64_t image = c.image_tokens(64, 64);
  const std::int64_t expected_prefill =
      c.text_tokens(b.labels[3]) + image + c.text_tokens(b.instruction) + 1;
  // The shifted run: B's first three frames (as held after A's frame 0), less any leading
  // label tokens frame 0's and frame 1's labels share (kept exactly).
  std::int64_t shared_frames = 0;
  for (int i = 0; i < 3; ++i) shared_frames += c.text_tokens(b.labels[i]) + image;
  const std::int64_t fixed_prefix = c.fixed_tokens() - 1;  // no system prompt: all but [/INST]
  ASSERT_EQ(b.planned_tokens, fixed_prefix + shared_frames + expected_prefill);
  const fp::PixtralEngineStats a1 = approx->stats(), e1 = exact->stats();
  EXPECT_EQ(a1.prefilled_tokens - a0.prefilled_tokens, expected_prefill);
  EXPECT_GT(e1.prefilled_tokens - e0.prefilled_tokens, expected_prefill + 3 * image);
  EXPECT_GE(a1.approx_reused_tokens, 3 * image);
  EXPECT_LE(a1.approx_reused_tokens, shared_frames);
  EXPECT_EQ(a1.reused_tokens - a0.reused_tokens, fixed_prefix + shared_frames);
  EXPECT_GT(ab.answer_tokens, 0);
  EXPECT_EQ(ab.prompt_hash, eb.prompt_hash);
  EXPECT_NE(fp::to_string(a1).find("shifted (approximate)"), std::string::npos);
  EXPECT_EQ(fp::to_string(e1).find("shifted"), std::string::npos);
}

TEST(PixtralApproxReuse, LiveLikeSlidingWindowsStayWellFormed) {
  const std::vector<core::Frame> f = clip_frames(8, 10, 64, 64, 20);
  ASSERT_EQ(f.size(), 8u);
  auto approx = demo(true), exact = demo(false);
  const std::vector<std::vector<core::Frame>> windows = {slice(f, 0, 4), slice(f, 1, 5),
                                                         slice(f, 2, 6), slice(f, 4, 8)};
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const Outcome a = run_window(*approx, windows[k], static_cast<std::int64_t>(k), true);
    const Outcome e = run_window(*exact, windows[k], static_cast<std::int64_t>(k), true);
    expect_well_formed(a, e, "window " + std::to_string(k));
    if (k == 0) expect_same(a, e, "the first window (nothing held)");
  }
  const fp::PixtralEngineStats sa = approx->stats(), se = exact->stats();
  EXPECT_EQ(sa.prompt_tokens, se.prompt_tokens);
  EXPECT_GT(sa.approx_reused_tokens, 0);
  EXPECT_LT(sa.prefilled_tokens, se.prefilled_tokens);
  EXPECT_EQ(se.approx_reused_tokens, 0);
}

TEST(PixtralApproxReuse, NothingMovedIsBitForBitExactReuse) {
  const std::vector<core::Frame> f = clip_frames(6, 10, 64, 64, 20);
  ASSERT_EQ(f.size(), 6u);
  auto approx = demo(true), exact = demo(false);
  // Growing windows and a repeated one: every plan keeps a prefix only (moved == 0).
  const std::vector<std::vector<core::Frame>> windows = {slice(f, 0, 3), slice(f, 0, 4),
                                                         slice(f, 0, 6), slice(f, 0, 6)};
  for (std::size_t k = 0; k < windows.size(); ++k)
    expect_same(run_window(*approx, windows[k], static_cast<std::int64_t>(k), true),
                run_window(*exact, windows[k], static_cast<std::int64_t>(k), true),
                "window " + std::to_string(k));
  core::StopFlag stop;
  EXPECT_EQ(approx->complete("Summarize: shapes moved.", stop).text,
            exact->complete("Summarize: shapes moved.", stop).text);
  const fp::PixtralEngineStats sa = approx->stats(), se = exact->stats();
  EXPECT_EQ(sa.approx_reused_tokens, 0);
  EXPECT_EQ(sa.prefilled_tokens, se.prefilled_tokens);
  EXPECT_EQ(sa.reused_tokens, se.reused_tokens);
  EXPECT_GT(sa.reused_tokens, 0);
}

TEST(PixtralApproxReuse, AnEngineWithoutShiftFallsBackToExactAnswers) {
  const std::vector<core::Frame> f = clip_frames(7, 10, 64, 64, 20);
  ASSERT_EQ(f.size(), 7u);
  for (const bool unsupported : {true, false}) {
    SCOPED_TRACE(unsupported ? "kUnsupported" : "kInternal after a half-done shift");
    auto wrapped = std::make_unique<NoShiftEngine>(
        demo_engine(), unsupported ? ErrorCode::kUnsupported : ErrorCode::kInternal, !unsupported);
    NoShiftEngine* raw = wrapped.get();
    auto approx = demo(true, std::move(wrapped));
    auto exact = demo(false);
    const std::vector<std::vector<core::Frame>> windows = {slice(f, 0, 4), slice(f, 1, 5),
                                                           slice(f, 3, 7)};
    for (std::size_t k = 0; k < windows.size(); ++k)
      expect_same(run_window(*approx, windows[k], static_cast<std::int64_t>(k), true),
                  run_window(*exact, windows[k], static_cast<std::int64_t>(k), true),
                  "window " + std::to_string(k));
    const fp::PixtralEngineStats sa = approx->stats(), se = exact->stats();
    EXPECT_EQ(sa.approx_reused_tokens, 0);
    if (unsupported) {
      EXPECT_EQ(raw->shifts, 1);  // tried once, then exact for the rest of the run
      EXPECT_EQ(sa.prefilled_tokens, se.prefilled_tokens);
      EXPECT_EQ(sa.reused_tokens, se.reused_tokens);
    } else {
      EXPECT_GE(raw->shifts, 2);  // each failure recomputed, the next slide tried again
      EXPECT_GT(sa.prefilled_tokens, se.prefilled_tokens);
    }
  }
}

}  // namespace
