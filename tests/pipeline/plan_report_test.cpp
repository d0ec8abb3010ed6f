// The dry-run report (pipeline/plan_report.h) of a list source (4 frames of 32x32, 1 s apart)
// with the fake coster of fakes.h: an image of 32x32 costs 2 x 3 = 6 tokens, a label
// "[00:00.0]" 9. The JSON and the text must describe the same windows.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/pipeline/plan_report.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

pipeline::PipelineOptions options(std::int64_t window_ns) {
  pipeline::PipelineOptions p;
  p.packing.answer_reserve_tokens = 30;
  p.packing.prompt_template = "Describe.";
  p.packing.window_ns = window_ns;
  return p;
}

TEST(PlanReport, JsonAndTextDescribeTheSameWindows) {
  testing::ListSource source(4, kSecond);
  const testing::FakeCoster coster(1000);
  const pipeline::PlanReport r =
      pipeline::plan_report(source, "clip.mp4", "fps 1", options(2 * kSecond), coster);
  const nlohmann::json j = nlohmann::json::parse(r.json);
  EXPECT_EQ(j["video"], "clip.mp4");
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 4.0);
  EXPECT_EQ(j["sampling"], "fps 1");
  EXPECT_EQ(j["context_tokens"], 1000);
  EXPECT_EQ(j["answer_reserve_tokens"], 30);
  EXPECT_EQ(j["frame_width_px"], 32);
  EXPECT_EQ(j["image_tokens_per_frame"], 6);
  EXPECT_EQ(j["tokens_per_frame"], 15);
  EXPECT_EQ(j["budget_tokens"], 970);
  EXPECT_EQ(j["frames"], 4);
  EXPECT_EQ(j["frames_skipped"], 0);
  // Windows span less than 2 s: two frames each, in order, every frame once.
  ASSERT_EQ(j["windows"].size(), 2u);
  std::int64_t frames = 0;
  double last = -1;
  for (const auto& w : j["windows"]) {
    EXPECT_EQ(w["frames"], w["frame_times"].size());
    EXPECT_LE(w["frames"].get<int>(), 2);
    for (const auto& t : w["frame_times"]) {
      EXPECT_GT(t.get<double>(), last);
      last = t.get<double>();
    }
    frames += w["frames"].get<std::int64_t>();
  }
  EXPECT_EQ(frames, 4);
  std::istringstream text(r.text);
  std::string line;
  std::getline(text, line);
  EXPECT_EQ(line, "clip.mp4: 4 frames (fps 1), 2 windows");
  std::getline(text, line);
  EXPECT_EQ(line.rfind("  00:00.0 - 00:02.0  2 frames, ", 0), 0u) << line;
  EXPECT_EQ(line.substr(line.size() - 7), " tokens");
}

TEST(PlanReport, AnEmptySourceHasNoFrameFacts) {
  testing::ListSource source(0, kSecond);
  const testing::FakeCoster coster(1000);
  const pipeline::PlanReport r =
      pipeline::plan_report(source, "empty", "fps 1", options(0), coster);
  const nlohmann::json j = nlohmann::json::parse(r.json);
  EXPECT_EQ(j["frames"], 0);
  EXPECT_FALSE(j.contains("frame_width_px"));
  EXPECT_TRUE(j["windows"].empty());
  EXPECT_EQ(r.text, "empty: 0 frames (fps 1), 0 windows\n");
}

}  // namespace
}  // namespace framescribe
