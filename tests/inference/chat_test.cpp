// The request API (inference/chat.h) on fixture A's tiny model with the CPU engine: the
// log-probabilities it reports equal a softmax of the engine's logits computed here, its greedy
// answer equals generate()'s, images by reference give the same features and tokens as images
// by value, stop strings end the answer where they start and are never streamed, a callback
// can cancel, and the next-token distribution is the softmax of the prompt's last logits.
#include "framescribe/inference/chat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/engine.h"
#include "inference/random_image.h"
#include "inference/tiny_tokenizer.h"

namespace fi = framescribe::inference;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

using framescribe::inference::testing::random_image;

class Chat : public ::testing::Test {
 protected:
  void SetUp() override {
    fi::EngineOptions eo;
    eo.n_threads = 1;
    engine = fi::load_engine(kFixture, eo);
    ASSERT_EQ(tok.img(), engine->config().image_token_id);
    patch = engine->config().vision.patch_px;
    a = random_image(3 * patch, 2 * patch, 1);
    b = random_image(patch, 4 * patch, 2);
    messages = {fi::Message::system("Be brief."),
                fi::Message::user(
                    {fi::Chunk::text_chunk("Compare"), fi::Chunk::image_chunk(a, patch),
                     fi::Chunk::image_chunk(b, patch), fi::Chunk::text_chunk("What changed?")})};
  }
  // The prompt's images by value, in prompt order (what callers built before chat.h).
  std::vector<fi::PixelImage> ordered_copies(const fi::ChatPrompt& p) const {
    std::vector<fi::PixelImage> v;
    for (const fi::ImagePlacement& pl : p.prompt.images) v.push_back(pl.source_index == 0 ? a : b);
    return v;
  }

  fi::Tokenizer tok = framescribe::testing::tiny_tokenizer();
  std::unique_ptr<fi::Engine> engine;
  int patch = 16;
  fi::PixelImage a, b;
  std::vector<fi::Message> messages;
};

TEST_F(Chat, PromptCostIsTheBuiltPromptAndImagesArePointersInPromptOrder) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  EXPECT_EQ(p.prompt.ids, fi::build_prompt(tok, messages).ids);
  ASSERT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.images[0], &a);  // no copies: the caller's own images
  EXPECT_EQ(p.images[1], &b);
  EXPECT_EQ(p.image_block_tokens(), 2 * (3 + 1) + 4 * (1 + 1));
  // Costing needs no pixels; running does.
  std::vector<fi::Message> sized = {
      fi::Message::user({fi::Chunk::image_chunk(fi::TargetSize{3 * patch, 2 * patch, patch}),
                         fi::Chunk::text_chunk("What?")})};
  const fi::ChatPrompt costed = fi::prepare_chat(tok, sized);
  EXPECT_GT(costed.size(), 0);
  try {
    (void)fi::run_chat(*engine, tok, costed, {});
    FAIL() << "expected kInvalidArgument";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("no pixels"), std::string::npos) << e.what();
  }
}

TEST_F(Chat, GreedyAnswerEqualsGenerate) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  fi::ChatOptions co;
  co.max_tokens = 12;
  co.stop_tokens = {-1};  // never stop early: compare full sequences
  const fi::ChatResult r = fi::run_chat(*engine, tok, p, co);
  fi::GenerateOptions go;
  go.max_new_tokens = 12;
  go.stop_tokens = {-1};
  const std::vector<fi::PixelImage> copies = ordered_copies(p);
  const fi::GenerateResult g = fi::generate(*engine, p.prompt.ids, copies, go);
  ASSERT_EQ(g.tokens.size(), 12u);
  EXPECT_EQ(r.tokens, g.tokens);
  EXPECT_EQ(r.text, tok.decode(r.tokens));
  EXPECT_EQ(r.stop_reason, fi::StopReason::kMaxTokens);
  EXPECT_EQ(r.usage.prompt_tokens, p.size());
  EXPECT_EQ(r.usage.image_tokens, p.image_block_tokens());
  EXPECT_EQ(r.usage.completion_tokens, 12);
  EXPECT_EQ(r.usage.total_tokens(), p.size() + 12);
  EXPECT_TRUE(r.logprobs.empty());  // not requested
}

TEST_F(Chat, ImagesByReferenceGiveTheSameFeaturesAndTokensAsByValue) {
  const std::vector<fi::PixelImage> values = {a, b};
  const std::vector<const fi::PixelImage*> refs = {&a, &b};
  const std::vector<float> by_value = engine->encode_images(values);
  const std::vector<float> by_ref = engine->encode_images(refs);
  ASSERT_FALSE(by_ref.empty());
  EXPECT_EQ(by_ref, by_value);
  double norm = 0;
  for (float x : by_ref) norm += static_cast<double>(x) * x;
  EXPECT_GT(norm, 0.0);
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  fi::GenerateOptions go;
  go.max_new_tokens = 8;
  go.stop_tokens = {-1};
  const fi::GenerateResult r1 = fi::generate(*engine, p.prompt.ids, ordered_copies(p), go);
  const fi::GenerateResult r2 = fi::generate(*engine, p.prompt.ids, p.images, go);
  EXPECT_EQ(r1.tokens, r2.tokens);
  const std::vector<const fi::PixelImage*> with_null = {&a, nullptr};
  EXPECT_THROW((void)engine->encode_images(with_null), framescribe::Error);
}

TEST_F(Chat, LogprobsEqualASoftmaxOfTheEnginesLogits) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  fi::ChatOptions co;
  co.max_tokens = 5;
  co.stop_tokens = {-1};
  co.top_logprobs = 4;
  const fi::ChatResult r = fi::run_chat(*engine, tok, p, co);
  ASSERT_EQ(r.logprobs.size(), 5u);

  // Independently: a second engine, the prompt evaluated, then each generated token fed back;
  // log softmax in long double at every step.
  fi::EngineOptions eo;
  eo.n_threads = 1;
  auto direct = fi::load_engine(kFixture, eo);
  const std::vector<fi::PixelImage> copies = ordered_copies(p);
  std::vector<float> logits =
      direct->eval(p.prompt.ids, direct->encode_images(copies), fi::LogitsMode::kLast);
  for (std::size_t step = 0; step < r.tokens.size(); ++step) {
    long double mx = -1e300L, z = 0;
    for (float l : logits) mx = std::max(mx, static_cast<long double>(l));
    for (float l : logits) z += std::exp(static_cast<long double>(l) - mx);
    auto logprob = [&](std::int32_t id) {
      return static_cast<double>(static_cast<long double>(logits[static_cast<std::size_t>(id)]) -
                                 mx - std::log(z));
    };
    const fi::GeneratedToken& g = r.logprobs[step];
    EXPECT_EQ(g.id, r.tokens[step]);
    // double against long double over a 512-token sum: 1e-9 is far above the rounding and far
    // below any real difference between two tokens' log-probabilities.
    EXPECT_NEAR(g.logprob, logprob(g.id), 1e-9) << "step " << step;
    EXPECT_LT(g.logprob, 0.0);
    ASSERT_EQ(g.top.size(), 4u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_EQ(g.top[0].id, g.id);
    for (std::size_t k = 0; k < g.top.size(); ++k) {
      EXPECT_NEAR(g.top[k].logprob, logprob(g.top[k].id), 1e-9);
      if (k > 0) EXPECT_GE(g.top[k - 1].logprob, g.top[k].logprob);
    }
    // Nothing outside the top list is more likely than its last entry.
    int above = 0;
    for (std::size_t i = 0; i < logits.size(); ++i)
      above += logits[i] > logits[static_cast<std::size_t>(g.top.back().id)];
    EXPECT_LE(above, 3);
    logits =
        direct->eval(std::span<const std::int32_t>(&r.tokens[step], 1), {}, fi::LogitsMode::kLast);
  }
}

TEST_F(Chat, NextTokenProbabilitiesAreTheSoftmaxOfThePromptsLastLogits) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  const std::vector<double> probs = fi::next_token_probabilities(*engine, p);
  const std::vector<fi::PixelImage> copies = ordered_copies(p);
  engine->truncate(0);
  const std::vector<float> logits =
      engine->eval(p.prompt.ids, engine->encode_images(copies), fi::LogitsMode::kLast);
  ASSERT_EQ(probs.size(), logits.size());
  long double mx = -1e300L, z = 0;
  for (float l : logits) mx = std::max(mx, static_cast<long double>(l));
  for (float l : logits) z += std::exp(static_cast<long double>(l) - mx);
  double sum = 0;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    const double want = static_cast<double>(std::exp(static_cast<long double>(logits[i]) - mx) / z);
    EXPECT_NEAR(probs[i], want, 1e-12 + 1e-9 * want) << "token " << i;
    sum += probs[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

TEST_F(Chat, StopStringsEndTheAnswerAndAreNeverStreamed) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  fi::ChatOptions co;
  co.max_tokens = 16;
  co.stop_tokens = {-1};
  const fi::ChatResult full = fi::run_chat(*engine, tok, p, co);
  // Stop at two bytes taken from the middle of the greedy answer.
  ASSERT_GE(full.text.size(), 6u) << "the tiny model's answer is too short for this test";
  const std::string stop = full.text.substr(3, 2);
  const std::size_t first = full.text.find(stop);
  co.stop_strings = {"never appears \x01", stop};
  std::string streamed;
  int pieces = 0;
  const fi::ChatResult r = fi::run_chat(*engine, tok, p, co, [&](const fi::ChatPiece& piece) {
    streamed += piece.text;
    ++pieces;
    return true;
  });
  EXPECT_EQ(r.stop_reason, fi::StopReason::kStopString);
  EXPECT_EQ(r.stop_string, stop);
  EXPECT_EQ(r.text, full.text.substr(0, first));
  EXPECT_EQ(streamed, r.text);
  EXPECT_GT(pieces, 0);
  // The tokens are those generated until the stop string was complete.
  EXPECT_LT(r.tokens.size(), full.tokens.size());
  EXPECT_TRUE(std::equal(r.tokens.begin(), r.tokens.end(), full.tokens.begin()));

  // Without a stop string the stream is the whole answer.
  co.stop_strings.clear();
  streamed.clear();
  const fi::ChatResult again = fi::run_chat(*engine, tok, p, co, [&](const fi::ChatPiece& piece) {
    streamed += piece.text;
    return true;
  });
  EXPECT_EQ(streamed, full.text);
  EXPECT_EQ(again.text, full.text);
  co.stop_strings = {""};
  EXPECT_THROW((void)fi::run_chat(*engine, tok, p, co), framescribe::Error);
}

TEST_F(Chat, ACallbackCanCancel) {
  const fi::ChatPrompt p = fi::prepare_chat(tok, messages);
  fi::ChatOptions co;
  co.max_tokens = 10;
  co.stop_tokens = {-1};
  int calls = 0;
  const fi::ChatResult r = fi::run_chat(*engine, tok, p, co, [&](const fi::ChatPiece& piece) {
    ++calls;
    return piece.token == nullptr || calls < 3;
  });
  EXPECT_EQ(r.stop_reason, fi::StopReason::kCallback);
  EXPECT_EQ(r.tokens.size(), 3u);
  EXPECT_GT(r.timings.first_token_ms, 0.0);
}

}  // namespace
