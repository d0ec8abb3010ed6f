// Sampling policies on synthetic frame lists (no FFmpeg), and the token-budget size rule.
#include <gtest/gtest.h>

#include <cmath>

#include "framescribe/core/error.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"

namespace framescribe::decoder {
namespace {

// Runs a sampler over frames at the given timestamps; returns the emitted frame numbers.
std::vector<int> run(const SamplingOptions& opt, const std::vector<std::int64_t>& pts,
                     const std::vector<bool>& key = {}, const std::vector<double>& score = {}) {
  Sampler s(opt);
  std::vector<int> out;
  for (std::size_t i = 0; i < pts.size() && !s.done(); ++i) {
    FrameFacts f;
    f.pts_ns = pts[i];
    f.index = static_cast<std::int64_t>(i);
    f.keyframe = key.empty() ? i == 0 : key[i];
    f.scene_score = score.empty() ? 0.0 : score[i];
    f.duration_ns = i + 1 < pts.size() ? pts[i + 1] - pts[i] : (i ? pts[i] - pts[i - 1] : 1);
    Verdict v = s.offer(f);
    if (v.emit_previous) out.push_back(static_cast<int>(i) - 1);
    if (v.emit_current) out.push_back(static_cast<int>(i));
  }
  if (s.finish()) out.push_back(static_cast<int>(pts.size()) - 1);
  return out;
}

std::vector<std::int64_t> cfr(int n, std::int64_t num, std::int64_t den) {  // rate num/den
  std::vector<std::int64_t> pts(n);
  for (int i = 0; i < n; ++i) pts[i] = i * 1'000'000'000LL * den / num;
  return pts;
}

TEST(Sampler, FixedRateHasNoDriftOverAnHourOfNtscVideo) {
  // 29.97 fps for one hour, sampled at 1 fps: 3600 samples, each within half a frame of its
  // tick, strictly increasing. A summed tick would drift; computed ticks cannot.
  const auto pts = cfr(107892, 30000, 1001);
  SamplingOptions o;
  o.mode = SamplingMode::kFixedRate;
  o.fps = 1;
  std::vector<int> got = run(o, pts);
  ASSERT_EQ(got.size(), 3600u);
  const double half_frame_ns = 0.5e9 * 1001 / 30000;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double tick = static_cast<double>(k) * 1e9;
    EXPECT_LE(std::abs(static_cast<double>(pts[got[k]]) - tick), half_frame_ns + 1) << k;
    if (k) {
      EXPECT_GT(got[k], got[k - 1]);
    }
  }
}

TEST(Sampler, FixedRateFasterThanTheVideoEmitsEachFrameOnce) {
  SamplingOptions o;
  o.mode = SamplingMode::kFixedRate;
  o.fps = 10;  // ten ticks per second on a 2 fps video
  std::vector<int> got = run(o, cfr(4, 2, 1));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Sampler, FixedRateSurvivesATimestampJump) {
  SamplingOptions o;
  o.mode = SamplingMode::kFixedRate;
  o.fps = 1000;
  std::vector<int> got = run(o, {0, 1'000'000, 4'000'000'000'000'000'000LL});
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

TEST(Sampler, EveryNthKeyframesCapAndRange) {
  const auto pts = cfr(20, 10, 1);
  SamplingOptions o;
  o.mode = SamplingMode::kEveryNth;
  o.every_n = 6;
  EXPECT_EQ(run(o, pts), (std::vector<int>{0, 6, 12, 18}));
  o.start_ns = 500'000'000;  // counting starts at the first frame in range
  EXPECT_EQ(run(o, pts), (std::vector<int>{5, 11, 17}));
  o.end_ns = 1'700'000'000;
  EXPECT_EQ(run(o, pts), (std::vector<int>{5, 11}));
  o.max_frames = 1;
  EXPECT_EQ(run(o, pts), (std::vector<int>{5}));

  SamplingOptions k;
  k.mode = SamplingMode::kKeyframes;
  std::vector<bool> key(20, false);
  key[0] = key[7] = key[15] = true;
  EXPECT_EQ(run(k, pts, key), (std::vector<int>{0, 7, 15}));
}

TEST(Sampler, MaxGapFillsLongStretchesWithTheLatestFrameInside) {
  const auto pts = cfr(30, 10, 1);  // 3 s at 10 fps
  SamplingOptions o;
  o.mode = SamplingMode::kKeyframes;  // only frame 0 is a keyframe
  o.max_gap_ns = 1'000'000'000;
  std::vector<int> got = run(o, pts);
  EXPECT_EQ(got, (std::vector<int>{0, 10, 20}));  // gaps of exactly 1 s, never more
}

TEST(Sampler, SceneThresholdAndMinimumGap) {
  const auto pts = cfr(10, 1, 1);
  std::vector<double> score(10, 0.01);
  score[3] = score[4] = score[8] = 0.9;
  SamplingOptions o;
  o.mode = SamplingMode::kScene;
  o.scene_threshold = 0.5;
  EXPECT_EQ(run(o, pts, {}, score), (std::vector<int>{0, 3, 4, 8}));
  o.scene_min_gap_ns = 2'000'000'000;
  EXPECT_EQ(run(o, pts, {}, score), (std::vector<int>{0, 3, 8}));
}

TEST(Sampler, RejectsImpossibleOptions) {
  SamplingOptions o;
  o.mode = SamplingMode::kFixedRate;
  o.fps = 0;
  EXPECT_THROW(Sampler{o}, Error);
  o.fps = 1;
  o.start_ns = 5;
  o.end_ns = 5;
  EXPECT_THROW(Sampler{o}, Error);
  EXPECT_EQ(describe(SamplingOptions{}), "every frame");
}

TEST(OutputSize, TokenBudgetPicksTheLargestEdgeThatFits) {
  for (int budget : {16, 64, 256, 1000, 2340, 5000}) {
    const int edge = longest_edge_for_tokens(1920, 1080, budget, 1024);
    EXPECT_LE(core::target_size(1920, 1080, edge).n_tokens(), budget);
    if (edge < 1024) {
      EXPECT_GT(core::target_size(1920, 1080, edge + 16).n_tokens(), budget) << budget;
    }
  }
  OutputSizing z;
  z.max_frame_tokens = 256;
  EXPECT_EQ(plan_output_size(1920, 1080, z), (core::TargetSize{320, 192, 16}));  // 12 x 21 = 252
  EXPECT_THROW(longest_edge_for_tokens(1920, 1080, 1, 1024), Error);
}

}  // namespace
}  // namespace framescribe::decoder
