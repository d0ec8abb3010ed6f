// Alert scores come from the model's probabilities:
// pixtral::PixtralWindowEngine::answer_probabilities on fixture A's tiny model equals the softmax
// of the answer tokens' logits computed here, from a prompt built by hand and an engine loaded and
// evaluated directly (inference::load_engine + eval). Also: engines without scoring say so
// (kUnsupported), and the scheduler's client forwards the call.
#include <gtest/gtest.h>

#include <cmath>

#include "apps/tiny_model.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/engine_scheduler.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/window_engine.h"
#include "inference/test_files.h"
#include "monitor/live_fakes.h"

namespace framescribe::apps {
namespace {

using pixtral::PixtralWindowEngine;
using pixtral::PixtralWindowOptions;

// Fixture A's ids (Pixtral's tekken order); text tokens are 256 + byte.
constexpr int kBos = 1, kInst = 3, kInstEnd = 4, kImg = 10, kImgBreak = 12, kImgEnd = 13;

core::Frame test_frame(int w, int h) {
  auto img = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img->data()[img->stride_bytes() * y + 3 * x + c] =
            static_cast<std::uint8_t>((x * 37 + y * 11 + c * 80) % 256);
  core::Frame f;
  f.image = img;
  f.pts_ns = 1'000'000'000;
  return f;
}

TEST(AlertScore, EqualsTheSoftmaxOfTheAnswerTokensLogits) {
  testing::TempDir dir;
  const auto model = testing::make_tiny_model(dir / "model");
  const inference::ModelConfig config = inference::load_model_config(model);
  const int patch = config.vision.patch_px;
  const int cols = 3, rows = 2;
  inference::EngineOptions eo;
  eo.n_threads = 1;
  PixtralWindowOptions wo;
  wo.max_answer_tokens = 8;
  wo.model_name = "tiny";
  PixtralWindowEngine engine(config, inference::Tokenizer::load(inference::find_tokenizer(model)),
                             inference::load_engine(model, eo), wo);

  const core::Frame frame = test_frame(cols * patch, rows * patch);
  pipeline::WindowPlan plan;
  plan.id = 4;
  plan.frames.push_back(pipeline::PreparedFrame{frame, 0, engine.prepare(frame)});
  plan.labels.push_back(pipeline::frame_label(frame.pts_ns));
  plan.instruction = "Describe.";  // replaced by the question
  const std::string question = "Is the picture striped? Answer yes or no.";
  const std::vector<std::string> answers = {"yes", "no"};
  core::StopFlag stop;
  const std::vector<double> got = engine.answer_probabilities(plan, question, answers, stop);
  ASSERT_EQ(got.size(), 2u);

  // Independently: BOS [INST] label image question [/INST], one eval, softmax in long double.
  std::vector<std::int32_t> ids = {kBos, kInst};
  for (unsigned char c : plan.labels[0]) ids.push_back(256 + c);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) ids.push_back(kImg);
    ids.push_back(r + 1 == rows ? kImgEnd : kImgBreak);
  }
  for (unsigned char c : question) ids.push_back(256 + c);
  ids.push_back(kInstEnd);
  auto direct = inference::load_engine(model, eo);
  inference::PreprocessOptions pre;
  pre.patch_px = patch;
  pre.longest_edge_px = config.vision.image_size_px;
  const std::vector<inference::PixelImage> px = {
      inference::preprocess_image(frame.image->view(), pre)};
  const std::vector<float> feats = direct->encode_images(px);
  const std::vector<float> logits = direct->eval(ids, feats, inference::LogitsMode::kLast);
  long double z = 0, mx = -1e300L;
  for (float l : logits) mx = std::max(mx, static_cast<long double>(l));
  for (float l : logits) z += std::exp(static_cast<long double>(l) - mx);
  const long double p_yes = std::exp(static_cast<long double>(logits[256 + 'y']) - mx) / z;
  const long double p_no = std::exp(static_cast<long double>(logits[256 + 'n']) - mx) / z;
  const double want_yes = static_cast<double>(p_yes / (p_yes + p_no));
  // Same float logits on both sides (same engine, same thread count); the sums differ only in
  // double vs long double rounding: 1e-12 is far above that and far below any real difference.
  EXPECT_NEAR(got[0], want_yes, 1e-12);
  EXPECT_NEAR(got[1], 1.0 - want_yes, 1e-12);
  EXPECT_GT(got[0], 0.0);
  EXPECT_LT(got[0], 1.0);
  EXPECT_TRUE(std::isfinite(got[0]));
}

TEST(AlertScore, EnginesWithoutScoringSayUnsupportedAndTheSchedulerForwards) {
  testing::FakeEngine plain(4096, 0);
  pipeline::WindowPlan plan;
  const std::vector<std::string> answers = {"yes", "no"};
  core::StopFlag stop;
  try {
    (void)plain.answer_probabilities(plan, "q?", answers, stop);
    FAIL() << "expected kUnsupported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
  testing::ScriptedEngine scripted({0.25});
  pipeline::EngineScheduler sched(scripted);
  auto client = sched.client("alerts", 1);
  const auto p = client->answer_probabilities(plan, "q?", answers, stop);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_DOUBLE_EQ(p[0], 0.25);
  EXPECT_EQ(sched.calls(), 1);
}

}  // namespace
}  // namespace framescribe::apps
