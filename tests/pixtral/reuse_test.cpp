// Reuse in the Pixtral window engine (issue 24), exact: on fixture A's tiny model (CPU engine),
// alert questions forked off their window's shared prefix score bit for bit as one prompt at a
// time; windows and questions through the frame cache answer as without it while the encoder
// sees each frame once; run_chat with a cache answers as without; the shared prefix is computed
// from the built ids and images; a KV pool too small for the forks is refused with nothing left.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/frame_cache.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/window_engine.h"
#include "inference/random_image.h"
#include "inference/tiny_engine.h"
#include "inference/tiny_tokenizer.h"
#include "pixtral/test_frame.h"
#include "shared_prefix.h"  // pipeline/pixtral/src (private)

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

using framescribe::testing::test_frame;

std::unique_ptr<fp::PixtralWindowEngine> window_engine(bool reuse) {
  fi::EngineOptions eo;
  eo.n_threads = 1;
  fp::PixtralWindowOptions wo;
  wo.max_answer_tokens = 6;
  wo.model_name = "tiny";
  // Forks and the frame cache are this file's subject; prompt-prefix reuse (which runs the
  // questions on the engine's own sequence instead) is prefix_reuse_test.cpp's.
  wo.reuse_prefix = false;
  if (!reuse) {
    wo.frame_cache_bytes = 0;
    wo.fork_questions = false;
  }
  return std::make_unique<fp::PixtralWindowEngine>(fi::load_model_config(kFixture),
                                                   framescribe::testing::tiny_tokenizer(),
                                                   fi::load_engine(kFixture, eo), wo);
}

pipeline::WindowPlan plan_of(fp::PixtralWindowEngine& engine,
                             const std::vector<core::Frame>& frames, std::int64_t id) {
  return framescribe::testing::coster_plan(engine, frames, id);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

const std::vector<std::string> kYesNo = {"yes", "no"};
const std::vector<std::string> kShapes = {"circle", "square", "none"};

TEST(PixtralReuse, ForkedAlertQuestionsScoreBitForBitAsOneAtATime) {
  auto reuse = window_engine(true), plain = window_engine(false);
  const int p = 16;
  const std::vector<core::Frame> frames = {test_frame(3 * p, 2 * p, 1'000'000'000, 1),
                                           test_frame(p, 2 * p, 2'000'000'000, 2)};
  const pipeline::WindowPlan w_reuse = plan_of(*reuse, frames, 3),
                             w_plain = plan_of(*plain, frames, 3);
  const std::vector<pipeline::AlertQuestion> qs = {
      {"Is the picture striped? Answer yes or no.", kYesNo},
      {"Is anything red? Answer yes or no.", kYesNo},
      {"Which shape is there?", kShapes}};
  core::StopFlag stop;
  const std::vector<std::vector<double>> got = reuse->answer_probabilities_batch(w_reuse, qs, stop);
  ASSERT_EQ(got.size(), 3u);
  std::int64_t asked = 0;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    // The path monitor took before: a full prompt per question on a single-sequence engine.
    const std::vector<double> want =
        plain->answer_probabilities(w_plain, qs[i].question, qs[i].answers, stop);
    EXPECT_TRUE(same_bits(got[i], want)) << "question " << i;
    EXPECT_EQ(got[i].size(), qs[i].answers.size());
    double sum = 0;
    for (double v : got[i]) sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-12);
    pipeline::WindowPlan q = w_plain;
    q.instruction = std::string(qs[i].question);
    asked += q.planned_tokens - plain->coster().text_tokens(w_plain.instruction) +
             plain->coster().text_tokens(q.instruction);
  }
  // The plain engine's batch (no forks) is the same as well.
  const std::vector<std::vector<double>> plain_batch =
      plain->answer_probabilities_batch(w_plain, qs, stop);
  for (std::size_t i = 0; i < qs.size(); ++i) EXPECT_TRUE(same_bits(plain_batch[i], got[i]));

  // What ran: the window (every token before the questions' text: the coster's fixed part less
  // [/INST], labels and images; the three questions start differently) once, then each
  // question's own tokens; the two frames encoded once for all three questions.
  const fp::PixtralEngineStats s = reuse->stats();
  const pipeline::PromptCoster& c = reuse->coster();
  const std::int64_t window_part = w_reuse.planned_tokens - c.text_tokens(w_reuse.instruction) - 1;
  EXPECT_EQ(s.prompts, 3);
  EXPECT_EQ(s.alert_questions, 3);
  EXPECT_EQ(s.forked_questions, 3);
  EXPECT_EQ(s.prompt_tokens, asked);
  EXPECT_EQ(s.prefilled_tokens, asked - 2 * window_part);
  EXPECT_EQ(s.frames, 6);
  EXPECT_EQ(s.frames_encoded, 2);
  EXPECT_EQ(s.encoder_calls, 1);
  EXPECT_EQ(s.frame_cache_entries, 2);
  EXPECT_GT(s.frame_cache_bytes, 0);
  // Without reuse: every prompt prefilled and every frame encoded, per question.
  const fp::PixtralEngineStats n = plain->stats();
  EXPECT_EQ(n.prompts, 6);
  EXPECT_EQ(n.forked_questions, 0);
  EXPECT_EQ(n.prefilled_tokens, n.prompt_tokens);
  EXPECT_EQ(n.prompt_tokens, 2 * asked);
  EXPECT_EQ(n.frames_encoded, 12);
  EXPECT_EQ(n.encoder_calls, 6);

  // Bad questions are refused before the engine runs; a stopped run scores nothing.
  const std::vector<std::string> none;
  const std::vector<pipeline::AlertQuestion> bad = {qs[0], {"Empty?", none}};
  EXPECT_THROW((void)reuse->answer_probabilities_batch(w_reuse, bad, stop), Error);
  EXPECT_EQ(reuse->stats().prompts, 3);
  core::StopFlag stopped;
  stopped.request(core::StopFlag::kAbandon);
  try {
    (void)reuse->answer_probabilities_batch(w_reuse, qs, stopped);
    FAIL() << "expected kCancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled);
  }
}

TEST(PixtralReuse, OverlappingWindowsEncodeEachFrameOnceAndAnswerAsWithout) {
  auto reuse = window_engine(true), plain = window_engine(false);
  const int p = 16;
  const core::Frame f1 = test_frame(2 * p, 2 * p, 1'000'000'000, 1),
                    f2 = test_frame(3 * p, p, 2'000'000'000, 2),
                    f3 = test_frame(p, 2 * p, 3'000'000'000, 3);
  core::StopFlag stop;
  // Window 2 holds f2 again, prepared anew (other pixels object, same content).
  for (const auto& frames : {std::vector<core::Frame>{f1, f2}, std::vector<core::Frame>{f2, f3}}) {
    const pipeline::WindowAnswer a = reuse->describe(plan_of(*reuse, frames, 1), {}, stop);
    const pipeline::WindowAnswer b = plain->describe(plan_of(*plain, frames, 1), {}, stop);
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.answer_tokens, b.answer_tokens);
    EXPECT_EQ(a.prompt_hash, b.prompt_hash);
  }
  fp::PixtralEngineStats s = reuse->stats();
  EXPECT_EQ(s.frames, 4);
  EXPECT_EQ(s.frames_encoded, 3);
  EXPECT_EQ(s.encoder_calls, 2);
  EXPECT_EQ(s.prefilled_tokens, s.prompt_tokens);  // descriptions are not forked
  EXPECT_EQ(plain->stats().frames_encoded, 4);

  // A question about window 2 afterwards: its frames are all cached.
  const std::vector<core::Frame> w2 = {f2, f3};
  const std::vector<double> got =
      reuse->answer_probabilities(plan_of(*reuse, w2, 2), "Is it red?", kYesNo, stop);
  const std::vector<double> want =
      plain->answer_probabilities(plan_of(*plain, w2, 2), "Is it red?", kYesNo, stop);
  EXPECT_TRUE(same_bits(got, want));
  s = reuse->stats();
  EXPECT_EQ(s.frames_encoded, 3);
  EXPECT_EQ(s.encoder_calls, 2);
  EXPECT_EQ(s.forked_questions, 0);  // one question: nothing to share
}

TEST(PixtralReuse, RunChatThroughAFrameCacheAnswersAsWithout) {
  fi::EngineOptions eo;
  eo.n_threads = 1;
  auto engine = fi::load_engine(kFixture, eo);
  const fi::Tokenizer tok = framescribe::testing::tiny_tokenizer();
  const fi::PixelImage a = fi::testing::random_image(32, 16, 1),
                       b = fi::testing::random_image(16, 32, 2);
  std::vector<fi::Message> m = {fi::Message::user(
      {fi::Chunk::image_chunk(a, 16), fi::Chunk::image_chunk(b, 16), fi::Chunk::text_chunk("Hi")})};
  const fi::ChatPrompt prompt = fi::prepare_chat(tok, m);
  fi::ChatOptions o;
  o.max_tokens = 5;
  o.top_logprobs = 3;
  const fi::ChatResult want = fi::run_chat(*engine, tok, prompt, o);
  fi::FrameEmbeddingCache cache;
  o.frame_cache = &cache;
  for (int round = 0; round < 2; ++round) {
    const fi::ChatResult got = fi::run_chat(*engine, tok, prompt, o);
    EXPECT_EQ(got.tokens, want.tokens);
    EXPECT_EQ(got.text, want.text);
    ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
    for (std::size_t i = 0; i < got.logprobs.size(); ++i)
      EXPECT_EQ(got.logprobs[i].logprob, want.logprobs[i].logprob);
  }
  EXPECT_EQ(cache.stats().encoder_calls, 1);  // the second round hit the cache
  EXPECT_EQ(cache.stats().misses, 2);
  EXPECT_EQ(cache.stats().hits, 2);
  EXPECT_TRUE(same_bits(fi::next_token_probabilities(*engine, prompt, &cache),
                        fi::next_token_probabilities(*engine, prompt)));
}

fi::ChatPrompt ids_prompt(std::vector<std::int32_t> ids) {
  fi::ChatPrompt c;
  c.prompt.ids = std::move(ids);
  return c;
}

TEST(SharedPrefix, StopsWhereIdsOrImagesDifferAndLeavesEachPromptAToken) {
  using V = std::vector<fi::ChatPrompt>;
  EXPECT_EQ(fp::shared_prefix_tokens(V{}), 0u);
  EXPECT_EQ(fp::shared_prefix_tokens(V{ids_prompt({1, 2, 3, 4, 5})}), 4u);
  EXPECT_EQ(fp::shared_prefix_tokens(V{ids_prompt({1, 2, 3, 4, 5}), ids_prompt({1, 2, 3, 9})}), 3u);
  EXPECT_EQ(fp::shared_prefix_tokens(V{ids_prompt({1, 2, 3}), ids_prompt({1, 2, 3, 4, 5})}), 2u);
  EXPECT_EQ(fp::shared_prefix_tokens(V{ids_prompt({7, 2}), ids_prompt({1, 2})}), 0u);
  // The same ids around an image: shared only when the image is the same object.
  const fi::PixelImage x = fi::testing::random_image(16, 16, 1), y = x;
  auto with_image = [](const fi::PixelImage* img) {
    fi::ChatPrompt c = ids_prompt({1, 2, 10, 13, 5, 6});
    c.prompt.images.push_back({0, 2, 2, fi::TargetSize{16, 16, 16}});
    c.images.push_back(img);
    return c;
  };
  EXPECT_EQ(fp::shared_prefix_tokens(V{with_image(&x), with_image(&x)}), 5u);
  EXPECT_EQ(fp::shared_prefix_tokens(V{with_image(&x), with_image(&y)}), 2u);
}

TEST(SharedPrefix, ForksEqualFreshEvalsAndATooSmallPoolLeavesNothingBehind) {
  fi::EngineOptions eo;
  eo.n_threads = 1;
  eo.load_format = fi::LoadFormat::kDummy;
  eo.dummy_seed = 3;
  const fi::ModelConfig config = fi::testing::tiny_engine_config();
  auto be = fi::make_cpu_batch_engine(config, eo, {.block_tokens = 4, .cache_tokens = 48});
  std::vector<fi::ChatPrompt> prompts = {ids_prompt({1, 3, 40, 41, 42, 43, 44, 45, 50, 51, 4}),
                                         ids_prompt({1, 3, 40, 41, 42, 43, 44, 45, 60, 4}),
                                         ids_prompt({1, 3, 40, 41, 42, 43, 44, 45, 70, 71, 72, 4})};
  const std::vector<float> none;
  const std::vector<const std::vector<float>*> feats = {&none, &none, &none};
  const auto r = fp::forked_next_token_probabilities(*be, prompts, feats, config.image_token_id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix_tokens, 8);
  EXPECT_EQ(r->prefilled_tokens, 8 + 3 + 2 + 4);
  for (std::size_t k = 0; k < prompts.size(); ++k) {
    const fi::SeqId s = be->create();
    const fi::StepSpan span{s, prompts[k].prompt.ids, {}, fi::LogitsMode::kLast};
    const std::vector<double> fresh = fi::softmax(be->step({&span, 1}).row(0));
    be->release(s);
    EXPECT_TRUE(same_bits(r->probs[k], fresh)) << "prompt " << k;
  }
  EXPECT_EQ(be->kv_stats().sequences, 0);
  EXPECT_EQ(be->kv_stats().blocks_free, be->kv_stats().blocks_total);

  // 12 blocks of 4: a 40-token prefix (10 blocks) and three forks that each copy the partial
  // block do not fit.
  std::vector<fi::ChatPrompt> big;
  for (std::int32_t q = 0; q < 3; ++q) {
    std::vector<std::int32_t> ids(41, 40);
    ids.push_back(50 + q);
    ids.push_back(4);
    big.push_back(ids_prompt(ids));
  }
  EXPECT_FALSE(fp::forked_next_token_probabilities(*be, big, feats, config.image_token_id));
  EXPECT_EQ(be->kv_stats().sequences, 0);
  EXPECT_EQ(be->kv_stats().blocks_free, be->kv_stats().blocks_total);
  be->kv_table().check_consistency();
}

}  // namespace
