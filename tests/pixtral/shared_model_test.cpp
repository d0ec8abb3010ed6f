// SharedModel (pipeline/pixtral/shared_model.h): window engines that are clients of one step
// scheduler over one CPU batch engine, on threads of their own, answer every window and score
// every alert question exactly (bit for bit: text, token counts, probabilities) as a window
// engine on an engine of its own does; the scheduler batched their work.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/core/stop.h"
#include "framescribe/inference/batch_engine.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/shared_model.h"
#include "framescribe/pixtral/window_engine.h"
#include "inference/tiny_tokenizer.h"
#include "pixtral/test_frame.h"

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

fi::EngineOptions engine_options() {
  fi::EngineOptions eo;
  eo.n_threads = 1;
  return eo;
}

fp::PixtralWindowOptions window_options() {
  fp::PixtralWindowOptions wo;
  wo.max_answer_tokens = 8;
  wo.model_name = "tiny";
  return wo;
}

pipeline::WindowPlan plan_of(fp::PixtralWindowEngine& engine,
                             const std::vector<core::Frame>& frames, std::int64_t id) {
  return framescribe::testing::coster_plan(engine, frames, id);
}

struct Outcome {
  std::vector<pipeline::WindowAnswer> answers;
  std::vector<std::vector<std::vector<double>>> scores;
};

// A stream's work: windows of its own frames, each described (the previous answer carried)
// and its alert questions scored.
Outcome stream_work(fp::PixtralWindowEngine& e, int stream) {
  const std::vector<std::string> yes_no = {"yes", "no"}, shapes = {"circle", "square", "none"};
  const std::vector<pipeline::AlertQuestion> qs = {
      {"Is anything moving?", yes_no}, {"Which shape?", shapes}, {"Is it dark?", yes_no}};
  core::StopFlag stop;
  Outcome out;
  std::string previous;
  for (int w = 0; w < 3; ++w) {
    std::vector<core::Frame> frames;
    for (int f = 0; f < 2 + (w + stream) % 2; ++f)
      frames.push_back(framescribe::testing::test_frame(32 + 16 * ((f + stream) % 2), 32,
                                                        (w * 3 + f) * 1'000'000'000LL,
                                                        stream * 10 + w * 3 + f));
    const pipeline::WindowPlan plan = plan_of(e, frames, w);
    out.answers.push_back(e.describe(plan, previous, stop));
    previous = out.answers.back().text;
    out.scores.push_back(e.answer_probabilities_batch(plan, qs, stop));
  }
  return out;
}

TEST(SharedModel, StreamsOnOneSchedulerAnswerAsEachAlone) {
  constexpr int kStreams = 3;
  std::vector<Outcome> shared(kStreams);
  fi::StepSchedulerStats stats;
  {
    const fi::ModelConfig config = fi::load_model_config(kFixture);
    fp::SharedModel model(
        config, framescribe::testing::tiny_tokenizer(),
        fi::make_cpu_batch_engine(config, engine_options(), {.cache_tokens = kStreams * 2048}),
        {.step_tokens = 24});
    std::vector<std::thread> threads;
    for (int s = 0; s < kStreams; ++s)
      threads.emplace_back([&, s] {
        auto e = model.window_engine("stream " + std::to_string(s), 0, window_options());
        shared[static_cast<std::size_t>(s)] = stream_work(*e, s);
      });
    for (auto& t : threads) t.join();
    stats = model.stats();
  }
  for (int s = 0; s < kStreams; ++s) {
    fp::PixtralWindowEngine alone(fi::load_model_config(kFixture),
                                  framescribe::testing::tiny_tokenizer(),
                                  fi::load_engine(kFixture, engine_options()), window_options());
    const Outcome want = stream_work(alone, s);
    const Outcome& got = shared[static_cast<std::size_t>(s)];
    ASSERT_EQ(got.answers.size(), want.answers.size());
    for (std::size_t w = 0; w < want.answers.size(); ++w) {
      EXPECT_EQ(got.answers[w].text, want.answers[w].text) << "stream " << s << " window " << w;
      EXPECT_EQ(got.answers[w].answer_tokens, want.answers[w].answer_tokens);
      EXPECT_EQ(got.answers[w].prompt_tokens, want.answers[w].prompt_tokens);
      ASSERT_EQ(got.scores[w].size(), want.scores[w].size());
      for (std::size_t q = 0; q < want.scores[w].size(); ++q) {
        ASSERT_EQ(got.scores[w][q].size(), want.scores[w][q].size());
        EXPECT_EQ(std::memcmp(got.scores[w][q].data(), want.scores[w][q].data(),
                              want.scores[w][q].size() * sizeof(double)),
                  0)
            << "stream " << s << " window " << w << " question " << q;
      }
    }
  }
  EXPECT_LE(stats.max_step_rows, 24);
  EXPECT_GT(stats.steps, 0);
  EXPECT_EQ(stats.failed_calls, 0);
}

}  // namespace
