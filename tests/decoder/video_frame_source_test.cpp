// decoder::VideoFrameSource, the decoder's core::FrameSource (what summarize and batch give the
// pipeline): sampled frames, the input's end, the sampling interval and why an input ended early.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "decoder/video_clips.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/video_frame_source.h"

namespace framescribe::testing {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// 4 s at 25 fps (frames 40 ms apart), Matroska (announces its length), keyframe every 10.
std::filesystem::path clip() {
  std::string err;
  auto p = make_clip(
      "vfs_src.mkv",
      "-f lavfi -i \"" + pattern(64, 48, 25, 4.0) + "\" -c:v libx264 -pix_fmt yuv420p -g 10", &err);
  EXPECT_TRUE(p) << err;
  return p ? *p : std::filesystem::path{};
}

decoder::SamplingOptions one_fps() {
  decoder::SamplingOptions s;
  s.mode = decoder::SamplingMode::kFixedRate;
  s.fps = 1;
  return s;
}

TEST(VideoFrameSource, GivesTheSampledFramesThroughTheCoreInterface) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  const auto path = clip();
  ASSERT_FALSE(path.empty());
  core::StopFlag stop;
  std::unique_ptr<core::FrameSource> src = std::make_unique<decoder::VideoFrameSource>(
      path.string(), decoder::SourceOptions{}, one_fps(), decoder::OutputSizing{}, &stop);
  EXPECT_EQ(src->interval_ns(), kSec);
  EXPECT_EQ(src->end_ns(), 4 * kSec);
  std::vector<std::int64_t> pts;
  while (std::optional<core::Frame> f = src->next()) {
    EXPECT_EQ(read_frame_number(*f->image), static_cast<int>(f->pts_ns / 40'000'000));
    pts.push_back(f->pts_ns);
  }
  EXPECT_EQ(pts, (std::vector<std::int64_t>{0, kSec, 2 * kSec, 3 * kSec}));
  EXPECT_EQ(src->incomplete_reason(), "");
  EXPECT_EQ(dynamic_cast<decoder::VideoFrameSource&>(*src).sampling_text(), "1 fps");
}

TEST(VideoFrameSource, ATruncatedInputEndsAfterItsLastFrameAndSaysWhy) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  const auto path = clip();
  ASSERT_FALSE(path.empty());
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  const auto cut = clip_dir() / "vfs_cut.mkv";
  std::ofstream(cut, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  LogCapture log;  // the decoder warns about the cut
  decoder::VideoFrameSource src(cut.string(), {}, one_fps(), {});
  std::int64_t last = core::kNoTimestamp;
  while (std::optional<core::Frame> f = src.next()) last = f->pts_ns;
  ASSERT_NE(last, core::kNoTimestamp);
  ASSERT_LT(last, 3 * kSec);
  // Not the 4 s the header announces: no window may reach into the part that is missing.
  EXPECT_EQ(src.end_ns(), last + kSec);
  EXPECT_NE(src.incomplete_reason().find("the input ended early"), std::string::npos)
      << src.incomplete_reason();
}

TEST(VideoFrameSource, ARaisedStopEndsIt) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  const auto path = clip();
  ASSERT_FALSE(path.empty());
  core::StopFlag stop;
  decoder::VideoFrameSource src(path.string(), {}, one_fps(), {}, &stop);
  ASSERT_TRUE(src.next().has_value());
  stop.request();
  int more = 0;  // at most the frames the sampler had already taken (one lookahead)
  while (src.next()) ++more;
  EXPECT_LE(more, 2);
  EXPECT_TRUE(src.stats().stopped);
  EXPECT_EQ(src.incomplete_reason(), "") << "a stop is not an early end";
}

}  // namespace
}  // namespace framescribe::testing
