// Prompt-prefix reuse in the Pixtral window engine (issue 24), exact: on the demo model (CPU
// engine, bit-exact: chunked prefill == whole) and frames FFmpeg decodes from
// samples/shapes-demo.mp4 (1 fps, 64 px: as the demo model was trained), a live-like sequence of
// windows (frames prefilled ahead, alert questions, descriptions, carried text, a summary prompt,
// windows that slide, same-sized frames with other pixels) answers and scores bit for bit as the
// engine without reuse; the prefilled tokens drop by the window part the coster says the prompts
// share; a stop mid-generation and an engine failure mid-prefill leave no stale state behind.
#include <gtest/gtest.h>

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
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/load_window_engine.h"
#include "framescribe/pixtral/window_engine.h"
#include "pixtral/demo_windows.h"

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

using namespace framescribe::testing::demo_windows;

// The demo engine over `engine` (null: loaded from the folder).
std::unique_ptr<fp::PixtralWindowEngine> demo(bool reuse,
                                              std::unique_ptr<fi::Engine> engine = nullptr) {
  const fi::EngineChoice choice;
  fi::EngineOptions eo = fi::engine_options(choice);
  eo.n_threads = 1;
  fp::PixtralWindowOptions wo;
  wo.max_answer_tokens = 12;
  wo.model_name = "demo";
  wo.reuse_prefix = reuse;
  wo.fork_questions = false;  // the plain engine: one full prompt per question, as before
  if (!engine) engine = fi::load_engine(kDemo, eo);
  return std::make_unique<fp::PixtralWindowEngine>(fi::load_config(kDemo, choice),
                                                   fi::Tokenizer::load(fi::find_tokenizer(kDemo)),
                                                   std::move(engine), wo);
}

TEST(PixtralPrefixReuse, LiveLikeWindowsAnswerBitForBitAsWithoutReuse) {
  const std::vector<core::Frame> f = clip_frames(8, 10, 64, 64, 20);
  ASSERT_EQ(f.size(), 8u);
  auto reuse = demo(true), plain = demo(false);
  // Sliding windows (the first frames drop out: the sequence is rebuilt after the prefix).
  const std::vector<std::vector<core::Frame>> windows = {slice(f, 0, 4), slice(f, 2, 6),
                                                         slice(f, 4, 8), slice(f, 4, 8)};
  std::int64_t answered = 0;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const Outcome a = run_window(*reuse, windows[k], static_cast<std::int64_t>(k), true);
    const Outcome b = run_window(*plain, windows[k], static_cast<std::int64_t>(k), false);
    expect_same(a, b, "window " + std::to_string(k));
    answered += b.plain_answer.answer_tokens + b.carried_answer.answer_tokens;
  }
  EXPECT_GT(answered, 0);  // answers with text were compared, not only empty ones
  // The same timestamps (labels) and frame sizes with other pixels: equal token ids, other
  // images; nothing of the image blocks may be kept.
  std::vector<core::Frame> swapped = slice(f, 4, 8);
  for (std::size_t i = 0; i < swapped.size(); ++i) swapped[i].image = f[i].image;
  expect_same(run_window(*reuse, swapped, 9, false), run_window(*plain, swapped, 9, false),
              "other pixels");
  // A text prompt (the summary's) after all that.
  core::StopFlag stop;
  EXPECT_EQ(reuse->complete("Summarize: shapes moved.", stop).text,
            plain->complete("Summarize: shapes moved.", stop).text);

  const fp::PixtralEngineStats r = reuse->stats(), p = plain->stats();
  EXPECT_EQ(r.prompts, p.prompts);
  EXPECT_EQ(r.prompt_tokens, p.prompt_tokens);
  EXPECT_EQ(p.prefilled_tokens, p.prompt_tokens);  // without reuse: everything, every time
  EXPECT_EQ(p.reused_tokens, 0);
  EXPECT_EQ(r.prefilled_tokens - r.early_prefilled_tokens + r.reused_tokens, r.prompt_tokens);
  EXPECT_LT(r.prefilled_tokens, p.prefilled_tokens / 2);
  EXPECT_GT(r.early_prefilled_tokens, 0);
}

TEST(PixtralPrefixReuse, PrefilledTokensDropByTheSharedWindowPart) {
  const std::vector<core::Frame> f = clip_frames(3, 10, 64, 64, 30);
  ASSERT_EQ(f.size(), 3u);
  auto e = demo(true);
  const pipeline::PromptCoster& c = e->coster();
  core::StopFlag stop;
  // Ahead: the first two frames. No system prompt: the fixed part before the frames is every
  // fixed token but [/INST].
  e->prefill(plan_of(*e, slice(f, 0, 2), 0), stop);
  std::int64_t ahead = c.fixed_tokens() - 1;
  for (int i = 0; i < 2; ++i)
    ahead += c.text_tokens(pipeline::frame_label(f[i].pts_ns)) +
             c.image_tokens(f[i].image->width_px(), f[i].image->height_px());
  fp::PixtralEngineStats s = e->stats();
  EXPECT_EQ(s.early_prefilled_tokens, ahead);
  EXPECT_EQ(s.prefilled_tokens, ahead);
  EXPECT_EQ(s.prompts, 0);
  e->prefill(plan_of(*e, slice(f, 0, 2), 0), stop);  // again: nothing new to prefill
  EXPECT_EQ(e->stats().prefilled_tokens, ahead);

  // The window, its three questions and its description.
  const pipeline::WindowPlan w = plan_of(*e, f, 0);
  const std::int64_t instruction = c.text_tokens(w.instruction);
  const std::int64_t window_part = w.planned_tokens - instruction - 1;  // up to the questions
  std::vector<std::int64_t> sizes;
  for (const pipeline::AlertQuestion& q : kQuestions)
    sizes.push_back(window_part + c.text_tokens(q.question) + 1);
  (void)e->answer_probabilities_batch(w, kQuestions, stop);
  (void)e->describe(w, {}, stop);
  // Question 0 keeps what ran ahead; the others and the description keep the window part.
  const std::int64_t reused = ahead + 3 * window_part;
  const std::int64_t asked = sizes[0] + sizes[1] + sizes[2] + w.planned_tokens;
  s = e->stats();
  EXPECT_EQ(s.prompts, 4);
  EXPECT_EQ(s.prompt_tokens, asked);
  EXPECT_EQ(s.reused_tokens, reused);
  EXPECT_EQ(s.prefilled_tokens, ahead + asked - reused);
  EXPECT_EQ(s.frames, 12);
  // Each distinct frame encoded once (the clip may repeat a frame: counted by its bytes here).
  std::int64_t distinct = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    bool seen = false;
    for (std::size_t j = 0; j < i; ++j)
      seen = seen || std::memcmp(f[i].image->data(), f[j].image->data(),
                                 static_cast<std::size_t>(f[i].image->stride_bytes()) *
                                     static_cast<std::size_t>(f[i].image->height_px())) == 0;
    distinct += !seen;
  }
  EXPECT_EQ(s.frames_encoded, distinct);
}

// An engine that, once armed, appends tokens of its own to the sequence and fails mid-prefill.
class FailingEngine final : public fi::Engine {
 public:
  explicit FailingEngine(std::unique_ptr<fi::Engine> inner) : in_(std::move(inner)) {}
  bool armed = false;
  const fi::ModelConfig& config() const override { return in_->config(); }
  std::string_view backend_name() const override { return in_->backend_name(); }
  std::vector<float> encode_images(std::span<const fi::PixelImage* const> images) override {
    return in_->encode_images(images);
  }
  std::vector<float> eval(std::span<const std::int32_t> tokens, std::span<const float> rows,
                          fi::LogitsMode mode) override {
    if (armed) {
      const std::vector<std::int32_t> junk(tokens.size() / 2 + 1, 5);
      (void)in_->eval(junk, {}, fi::LogitsMode::kNone);
      FS_FAIL(kInternal, "injected failure mid-prefill");
    }
    return in_->eval(tokens, rows, mode);
  }
  std::int64_t n_past() const override { return in_->n_past(); }
  std::int64_t max_context() const override { return in_->max_context(); }
  void truncate(std::int64_t n) override { in_->truncate(n); }

 private:
  std::unique_ptr<fi::Engine> in_;
};

TEST(PixtralPrefixReuse, AStopOrAFailureLeavesNothingStaleToReuse) {
  const std::vector<core::Frame> f = clip_frames(3, 10, 64, 64, 30);
  ASSERT_EQ(f.size(), 3u);
  fi::EngineOptions eo = fi::engine_options(fi::EngineChoice{});
  eo.n_threads = 1;
  auto failing = std::make_unique<FailingEngine>(fi::load_engine(kDemo, eo));
  FailingEngine* fail = failing.get();
  auto e = demo(true, std::move(failing)), plain = demo(false);
  const pipeline::WindowPlan w = plan_of(*e, f, 0), wp = plan_of(*plain, f, 0);
  core::StopFlag go;
  const pipeline::WindowAnswer want = plain->describe(wp, {}, go);
  ASSERT_GT(want.answer_tokens, 1);  // so that a stop comes mid-generation
  const std::vector<std::vector<double>> want_scores =
      plain->answer_probabilities_batch(wp, kQuestions, go);

  // Stopped after its first token: the prompt was prefilled whole and is kept.
  core::StopFlag stopped;
  stopped.request(core::StopFlag::kAbandon);
  EXPECT_TRUE(e->describe(w, {}, stopped).abandoned);
  std::int64_t before = e->stats().prefilled_tokens;
  pipeline::WindowAnswer got = e->describe(w, {}, go);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.answer_tokens, want.answer_tokens);
  EXPECT_EQ(e->stats().prefilled_tokens - before, 1);  // all but the last prompt token kept

  // A failure mid-prefill (the engine's sequence then holds junk after the kept prefix): the
  // call throws, and the next prompt starts a new sequence.
  fail->armed = true;
  EXPECT_THROW((void)e->answer_probabilities_batch(w, kQuestions, go), Error);
  EXPECT_THROW((void)e->describe(w, {}, go), Error);
  fail->armed = false;
  before = e->stats().prefilled_tokens;
  got = e->describe(w, {}, go);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.answer_tokens, want.answer_tokens);
  EXPECT_EQ(e->stats().prefilled_tokens - before, w.planned_tokens);  // nothing kept
  fail->armed = true;
  EXPECT_THROW(e->prefill(plan_of(*e, slice(f, 1, 3), 1), go), Error);
  fail->armed = false;
  const std::vector<std::vector<double>> scores = e->answer_probabilities_batch(w, kQuestions, go);
  ASSERT_EQ(scores.size(), want_scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i)
    EXPECT_TRUE(same_bits(scores[i], want_scores[i])) << i;
}

// The chat.h hook itself: a kept prefix that ends after an image, inside one (part of its rows
// kept) or in text gives the same answer and distribution; what cannot be kept is refused
// before the engine is touched.
TEST(ChatKeepPrefix, KeptPrefixesAnswerAsAFreshPromptAndBadOnesAreRefused) {
  const std::vector<core::Frame> f = clip_frames(2, 10, 64, 64, 30);
  ASSERT_EQ(f.size(), 2u);
  fi::EngineOptions eo = fi::engine_options(fi::EngineChoice{});
  eo.n_threads = 1;
  auto engine = fi::load_engine(kDemo, eo);
  const fi::Tokenizer tok = fi::Tokenizer::load(fi::find_tokenizer(kDemo));
  fi::PreprocessOptions pre;
  pre.longest_edge_px = 64;
  const fi::PixelImage a = fi::preprocess_image(f[0].image->view(), pre),
                       b = fi::preprocess_image(f[1].image->view(), pre);
  const fi::ChatPrompt prompt = fi::prepare_chat(
      tok, {fi::Message::user({fi::Chunk::text_chunk("[00:03.0]"), fi::Chunk::image_chunk(a, 16),
                               fi::Chunk::text_chunk("[00:04.0]"), fi::Chunk::image_chunk(b, 16),
                               fi::Chunk::text_chunk("What happens?")})});
  ASSERT_EQ(prompt.prompt.images.size(), 2u);
  fi::ChatOptions o;
  o.max_tokens = 8;
  o.top_logprobs = 2;
  const fi::ChatResult want = fi::run_chat(*engine, tok, prompt, o);
  ASSERT_GE(want.tokens.size(), 2u);  // answers with tokens are compared
  const std::vector<double> want_p = fi::next_token_probabilities(*engine, prompt);
  const fi::ImagePlacement& second = prompt.prompt.images[1];
  for (const std::size_t keep :
       {std::size_t{1}, second.first_token, second.first_token + 7,
        second.first_token + second.n_tokens, prompt.prompt.ids.size() - 1}) {
    (void)fi::run_chat(*engine, tok, prompt, o);  // the sequence holds the whole prompt again
    o.keep_prefix = static_cast<std::int64_t>(keep);
    const fi::ChatResult got = fi::run_chat(*engine, tok, prompt, o);
    EXPECT_EQ(got.tokens, want.tokens) << "keep " << keep;
    ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
    for (std::size_t i = 0; i < got.logprobs.size(); ++i)
      EXPECT_EQ(std::memcmp(&got.logprobs[i].logprob, &want.logprobs[i].logprob, sizeof(double)), 0)
          << "keep " << keep << " token " << i;
    o.keep_prefix = 0;
    EXPECT_TRUE(same_bits(
        fi::next_token_probabilities(*engine, prompt, nullptr, static_cast<std::int64_t>(keep)),
        want_p))
        << "keep " << keep;
  }
  // Refused, with the sequence as it was: keeping the whole prompt (nothing left to evaluate),
  // more than the engine holds, a negative count.
  const std::int64_t held = engine->n_past();
  for (const std::int64_t bad : {prompt.size(), std::int64_t{-1}}) {
    o.keep_prefix = bad;
    EXPECT_THROW((void)fi::run_chat(*engine, tok, prompt, o), Error) << bad;
    EXPECT_THROW((void)fi::next_token_probabilities(*engine, prompt, nullptr, bad), Error) << bad;
    EXPECT_EQ(engine->n_past(), held);
  }
  engine->truncate(5);
  o.keep_prefix = 6;
  try {
    (void)fi::run_chat(*engine, tok, prompt, o);
    FAIL() << "expected kInvalidArgument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(engine->n_past(), 5);
}

}  // namespace
