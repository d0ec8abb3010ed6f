// Engine::eval_greedy (issue 19: greedy decoding's choice behind the engine, so the CUDA engine
// can pick on the device) on the CPU engine: equal to the host's greedy choice over eval's logits
// on random prompts and cached steps (tiny dummy-weight model); the default's rule (lowest id on
// ties, NaN never wins, the image token never chosen) on fixed logits; and generate() / run_chat
// giving the tokens of the loop they used before (eval + host Sampler), greedy and sampled.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/sampling.h"
#include "inference/tiny_engine.h"
#include "inference/tiny_tokenizer.h"
#include "sample_loop.h"

namespace fi = framescribe::inference;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

// Small text and vision sizes, random (dummy) weights: fast on one thread.
fi::ModelConfig tiny_config() {
  return fi::testing::tiny_engine_config();
}

std::unique_ptr<fi::Engine> tiny_engine(std::uint64_t seed) {
  fi::EngineOptions o;
  o.n_threads = 1;
  o.load_format = fi::LoadFormat::kDummy;
  o.dummy_seed = seed;
  return fi::make_engine(tiny_config(), o);
}

std::vector<std::int32_t> random_prompt(std::uint32_t seed, int n_vocab, int image_token) {
  std::uint32_t s = seed * 2654435761u + 7;
  std::vector<std::int32_t> p{1};
  const int n = 3 + static_cast<int>(seed % 40);
  for (int i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    std::int32_t t =
        20 + static_cast<std::int32_t>((s >> 8) % static_cast<std::uint32_t>(n_vocab - 20));
    if (t == image_token) t += 1;  // text only: no image features here
    p.push_back(t);
  }
  return p;
}

TEST(EvalGreedy, EqualsTheGreedyChoiceOfEvalOnRandomPrompts) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    auto with_logits = tiny_engine(seed), greedy = tiny_engine(seed);
    const fi::ModelConfig& c = with_logits->config();
    for (std::uint32_t p = 0; p < 3; ++p) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " prompt " + std::to_string(p));
      with_logits->truncate(0);
      greedy->truncate(0);
      const std::vector<std::int32_t> prompt = random_prompt(
          static_cast<std::uint32_t>(seed * 10 + p), c.text.n_vocab, c.image_token_id);
      std::vector<float> l = with_logits->eval(prompt, {}, fi::LogitsMode::kLast);
      std::int32_t want = fi::greedy_choice(l, c.image_token_id);
      std::int32_t got = greedy->eval_greedy(prompt, {});
      ASSERT_EQ(got, want);
      for (int step = 0; step < 6; ++step) {
        EXPECT_NE(got, c.image_token_id);
        l = with_logits->eval({&want, 1}, {}, fi::LogitsMode::kLast);
        got = greedy->eval_greedy({&got, 1}, {});
        want = fi::greedy_choice(l, c.image_token_id);
        ASSERT_EQ(got, want) << "step " << step;
      }
      EXPECT_EQ(greedy->n_past(), with_logits->n_past());
    }
  }
}

// An engine whose eval returns fixed logits: the default eval_greedy's rule, exactly.
class FixedLogits final : public fi::Engine {
 public:
  explicit FixedLogits(std::vector<float> logits) : logits_(std::move(logits)) {
    config_.text.n_vocab = static_cast<int>(logits_.size());
    config_.image_token_id = 3;
  }
  const fi::ModelConfig& config() const override { return config_; }
  std::string_view backend_name() const override { return "fixed"; }
  using fi::Engine::encode_images;
  std::vector<float> encode_images(std::span<const fi::PixelImage* const>) override { return {}; }
  std::vector<float> eval(std::span<const std::int32_t> tokens, std::span<const float>,
                          fi::LogitsMode) override {
    n_past_ += static_cast<std::int64_t>(tokens.size());
    return logits_;
  }
  std::int64_t n_past() const override { return n_past_; }
  std::int64_t max_context() const override { return 1000; }
  void truncate(std::int64_t n) override { n_past_ = std::min(n_past_, n); }

 private:
  fi::ModelConfig config_;
  std::vector<float> logits_;
  std::int64_t n_past_ = 0;
};

TEST(EvalGreedy, DefaultRuleLowestIdOnTiesNeverNanNeverTheImageToken) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::int32_t tok = 5;
  // The image token (3) holds the maximum: the runner-up wins, the lower of two tied ids.
  EXPECT_EQ(FixedLogits({0.f, 1.f, 2.f, 9.f, 2.f, 2.f}).eval_greedy({&tok, 1}, {}), 2);
  EXPECT_EQ(FixedLogits({nan, 4.f, 4.f, 1.f, 4.f}).eval_greedy({&tok, 1}, {}), 1);
  EXPECT_EQ(FixedLogits({nan, nan, 0.5f, nan}).eval_greedy({&tok, 1}, {}), 2);
  // Only the image token is not NaN: it is -inf then, and -inf still beats NaN (as the loop did).
  EXPECT_EQ(FixedLogits({nan, nan, nan, 7.f}).eval_greedy({&tok, 1}, {}), 3);
  EXPECT_EQ(FixedLogits({-inf, -inf, -inf, -inf}).eval_greedy({&tok, 1}, {}), 0);
  FixedLogits e({1.f, 2.f});
  EXPECT_THROW(e.eval_greedy({}, {}), framescribe::Error);
  EXPECT_EQ(e.eval_greedy({&tok, 1}, {}), 1);
  EXPECT_EQ(e.n_past(), 1);
}

// The decode loop as generate() ran it before eval_greedy: eval kLast, image token masked,
// Sampler::sample, feed back.
std::vector<std::int32_t> loop_before(fi::Engine& engine, std::span<const std::int32_t> prompt,
                                      std::span<const float> features, const fi::SamplingParams& sp,
                                      int max_tokens, std::int32_t stop) {
  engine.truncate(0);
  fi::Sampler sampler(sp);
  std::vector<float> logits = engine.eval(prompt, features, fi::LogitsMode::kLast);
  const auto img = static_cast<std::size_t>(engine.config().image_token_id);
  std::vector<std::int32_t> out;
  for (int n = 0; n < max_tokens; ++n) {
    logits[img] = -std::numeric_limits<float>::infinity();
    const std::int32_t t = sampler.sample(logits);
    if (t == stop) break;
    out.push_back(t);
    if (engine.n_past() >= engine.max_context()) break;
    logits = engine.eval({&t, 1}, {}, fi::LogitsMode::kLast);
  }
  return out;
}

TEST(EvalGreedy, GenerateGivesTheTokensOfTheLoopBefore) {
  fi::EngineOptions eo;
  eo.n_threads = 1;
  auto engine = fi::load_engine(kFixture, eo);
  const fi::ModelConfig& c = engine->config();
  std::size_t generated = 0;
  for (std::uint32_t p = 0; p < 3; ++p) {
    const std::vector<std::int32_t> prompt =
        random_prompt(100 + p, c.text.n_vocab, c.image_token_id);
    for (const float temperature : {0.0f, 0.8f}) {
      SCOPED_TRACE("prompt " + std::to_string(p) + " T " + std::to_string(temperature));
      fi::GenerateOptions go;
      go.max_new_tokens = 12;
      go.sampling = {temperature, 0.9f, 42 + p};
      const fi::GenerateResult r =
          fi::generate(*engine, prompt, std::span<const fi::PixelImage* const>{}, go);
      const std::vector<std::int32_t> before =
          loop_before(*engine, prompt, {}, go.sampling, go.max_new_tokens, c.eos_token_id);
      EXPECT_EQ(r.tokens, before);
      generated += r.tokens.size();
    }
  }
  EXPECT_GT(generated, 0u) << "every answer ended at once: nothing compared";
}

TEST(EvalGreedy, RunChatGreedyTokensAreTheSameWithAndWithoutLogprobs) {
  // Without logprobs run_chat takes eval_greedy; with them, logits and the host sampler.
  fi::EngineOptions eo;
  eo.n_threads = 1;
  auto engine = fi::load_engine(kFixture, eo);
  const fi::Tokenizer tok = framescribe::testing::tiny_tokenizer();
  std::size_t generated = 0;
  for (const char* question : {"What changed?", "Describe the scene.", "Count them."}) {
    const std::vector<fi::Message> messages = {fi::Message::user(std::string(question))};
    fi::ChatOptions plain;
    plain.max_tokens = 16;
    fi::ChatOptions with_logprobs = plain;
    with_logprobs.logprobs = true;
    const fi::ChatResult a = fi::run_chat(*engine, tok, messages, plain);
    const fi::ChatResult b = fi::run_chat(*engine, tok, messages, with_logprobs);
    EXPECT_EQ(a.tokens, b.tokens) << question;
    EXPECT_EQ(a.text, b.text) << question;
    EXPECT_EQ(a.stop_reason, b.stop_reason) << question;
    generated += a.tokens.size();
    EXPECT_EQ(b.logprobs.size(), b.tokens.size()) << question;
    // And the loop before gave these tokens too.
    const fi::ChatPrompt prompt = fi::prepare_chat(tok, messages);
    std::vector<std::int32_t> before =
        loop_before(*engine, prompt.prompt.ids, {}, {}, 16, tok.eos());
    EXPECT_EQ(a.tokens, before) << question;
  }
  EXPECT_GT(generated, 0u) << "every answer ended at once: nothing compared";
}

}  // namespace
