// A command's video request (decoder/video_request.h): its conversion to the decoder's options,
// the frame-count estimate from duration and frame rate, and the count by running the sampler
// over the bundled sample clip (16 s at 10 fps).
#include <gtest/gtest.h>

#include <filesystem>

#include "framescribe/core/error.h"
#include "framescribe/decoder/video_request.h"

namespace framescribe {
namespace {

using namespace framescribe::decoder;

constexpr std::int64_t kSecond = 1'000'000'000;

StreamInfo ten_seconds_at_25() {
  StreamInfo info;
  info.duration_ns = 10 * kSecond;
  info.frame_rate = 25;
  return info;
}

TEST(VideoRequest, RecommendationsFillOnlyWhatWasNotGiven) {
  VideoRequest v;
  v.every = 5;
  v.keyframes = true;
  v.scene = 0.3;
  v.max_frame_tokens = 100;
  v.apply_recommended(4, 64, /*sampling_given=*/false, /*size_given=*/false);
  EXPECT_EQ(v.fps, 4);
  EXPECT_EQ(v.every, 0);
  EXPECT_FALSE(v.keyframes);
  EXPECT_EQ(v.scene, -1);
  EXPECT_EQ(v.max_edge_px, 64);
  EXPECT_EQ(v.max_frame_tokens, 0);

  VideoRequest given;
  given.every = 5;
  given.max_frame_tokens = 100;
  given.apply_recommended(4, 64, /*sampling_given=*/true, /*size_given=*/true);
  EXPECT_EQ(given.fps, 0);
  EXPECT_EQ(given.every, 5);
  EXPECT_EQ(given.max_edge_px, 1024);
  EXPECT_EQ(given.max_frame_tokens, 100);
}

TEST(VideoRequest, ModesAndRanges) {
  VideoRequest v;
  EXPECT_EQ(v.sampling().mode, SamplingMode::kAll);
  v.every = 4;
  EXPECT_EQ(v.sampling().mode, SamplingMode::kEveryNth);
  EXPECT_EQ(v.sampling().every_n, 4);
  v.fps = 2;  // the fixed rate wins over every-Nth, as the options exclude each other
  EXPECT_EQ(v.sampling().mode, SamplingMode::kFixedRate);
  v.start_s = 1.5;
  v.end_s = 3;
  EXPECT_EQ(v.sampling().start_ns, 1'500'000'000);
  EXPECT_EQ(v.sampling().end_ns, 3 * kSecond);
  EXPECT_EQ(v.source().start_ns, 1'500'000'000);
  EXPECT_TRUE(v.source().allow_stdin);
  v.start_s = -1;
  EXPECT_THROW((void)v.sampling(), Error);
  v.start_s = 0;
  v.max_edge_px = 20;  // not a multiple of the patch size
  EXPECT_THROW((void)v.sizing(), Error);
  v.max_edge_px = 64;
  v.max_frame_tokens = 30;
  EXPECT_EQ(v.sizing().longest_edge_px, 64);
  EXPECT_EQ(v.sizing().max_frame_tokens, 30);
}

TEST(VideoRequest, EstimateByArithmetic) {
  const StreamInfo info = ten_seconds_at_25();
  SamplingOptions s;
  EXPECT_EQ(estimate_sampled_frames(info, s), 250);  // every frame
  s.mode = SamplingMode::kFixedRate;
  s.fps = 2;
  EXPECT_EQ(estimate_sampled_frames(info, s), 20);
  s.start_ns = 2 * kSecond;
  s.end_ns = 6 * kSecond;
  EXPECT_EQ(estimate_sampled_frames(info, s), 8);
  s.max_frames = 3;
  EXPECT_EQ(estimate_sampled_frames(info, s), 3);
  SamplingOptions every;
  every.mode = SamplingMode::kEveryNth;
  every.every_n = 4;
  EXPECT_EQ(estimate_sampled_frames(info, every), 63);  // frames 0, 4, ..., 248
  SamplingOptions sparse;
  sparse.mode = SamplingMode::kFixedRate;
  sparse.fps = 0.1;
  sparse.max_gap_ns = 2 * kSecond;  // no gap over 2 s: at least 5 samples in 10 s
  EXPECT_EQ(estimate_sampled_frames(info, sparse), 5);
  SamplingOptions keys;
  keys.mode = SamplingMode::kKeyframes;
  EXPECT_EQ(estimate_sampled_frames(info, keys), -1);  // needs a scan
  StreamInfo no_duration;
  EXPECT_EQ(estimate_sampled_frames(no_duration, s), -1);
}

TEST(VideoRequest, CountAgreesWithTheEstimateOnARealClip) {
  const std::filesystem::path clip =
      std::filesystem::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";
  VideoRequest v;
  v.fps = 1;
  auto src = FfmpegSource::open(clip.string(), v.source());
  const long long estimate = estimate_sampled_frames(src->info(), v.sampling());
  EXPECT_EQ(estimate, 16);  // 16 s at 1 fps
  long long calls = 0, last = -1;
  const long long counted =
      count_sampled_frames(*src, v.sampling(), [&](double at_s, long long sampled) {
        EXPECT_GE(at_s, 0.0);
        ++calls;
        last = sampled;
      });
  EXPECT_EQ(counted, estimate);
  EXPECT_GT(calls, 0);
  EXPECT_LE(last, counted);
}

}  // namespace
}  // namespace framescribe
