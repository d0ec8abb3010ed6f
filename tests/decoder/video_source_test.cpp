// The FFmpeg source on generated clips of every kind the issue lists: codecs and containers,
// odd sizes, 4K, 10-bit, 4:2:2/4:4:4/RGB, rotation, anamorphic SAR, variable frame rate and a
// resolution change. Each picture carries its frame number and an orientation mark, so the
// checks are on the pixels, not only on the metadata.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "decoder/video_clips.h"
#include "framescribe/core/error.h"
#include "framescribe/core/patch_grid.h"
#include "inference/test_files.h"

namespace framescribe::testing {
namespace {

using decoder::SamplingMode;
using decoder::SamplingOptions;

constexpr double kRate = 25.0;
constexpr int kFrames = 50;  // 2 s at 25 fps
constexpr std::int64_t kFrameNs = 40'000'000;

struct Kind {
  const char* name;
  const char* file;
  const char* encoder;
  const char* args;  // after the input
};

// Codec x container coverage: H.264/mp4, H.265/mkv, VP9/webm, AV1/mkv (libaom; SVT-AV1 refuses
// pictures under 64x64), MPEG-4 Part 2/avi, MJPEG/mov. Keyframe every 10 frames, no scene cuts,
// so the keyframe count is exact.
const Kind kKinds[] = {
    {"h264_mp4", "h264.mp4", "libx264", "-c:v libx264 -pix_fmt yuv420p -g 10 -sc_threshold 0"},
    {"h265_mkv", "h265.mkv", "libx265",
     "-c:v libx265 -pix_fmt yuv420p -x265-params "
     "log-level=error:keyint=10:min-keyint=10:scenecut=0"},
    {"vp9_webm", "vp9.webm", "libvpx-vp9",
     "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 10 -crf 20 -b:v 0"},
    {"av1_mkv", "av1.mkv", "libaom-av1",
     "-c:v libaom-av1 -usage realtime -cpu-used 8 -g 10 -crf 20"},
    {"mpeg4_avi", "mpeg4.avi", "mpeg4", "-c:v mpeg4 -q:v 2 -g 10"},
    {"mjpeg_mov", "mjpeg.mov", "mjpeg", "-c:v mjpeg -q:v 2"},
};

std::filesystem::path clip_or_skip(const std::string& file, const std::string& encoder,
                                   const std::string& args, int w = 64, int h = 48,
                                   double rate = kRate, double seconds = 2.0) {
  if (!has_encoder(encoder)) return {};
  std::string error;
  auto p = make_clip(file, "-f lavfi -i \"" + pattern(w, h, rate, seconds) + "\" " + args, &error);
  EXPECT_TRUE(p) << error;
  return p ? *p : std::filesystem::path{};
}

// Makes the clip, or skips the test (naming the missing encoder) when this ffmpeg lacks it.
#define CLIP_OR_SKIP(var, file, encoder, ...)                                                  \
  if (!has_encoder(encoder)) GTEST_SKIP() << "this ffmpeg has no " << (encoder) << " encoder"; \
  const std::filesystem::path var = clip_or_skip(file, encoder, __VA_ARGS__);                  \
  ASSERT_FALSE(var.empty())

void expect_every_frame(const Decoded& d, int frames, int w, int h) {
  ASSERT_EQ(d.frames.size(), static_cast<std::size_t>(frames));
  for (int n = 0; n < frames; ++n) {
    const core::Frame& f = d.frames[n];
    SCOPED_TRACE("frame " + std::to_string(n));
    EXPECT_EQ(f.index, n);
    EXPECT_NEAR(f.pts_ns, n * kFrameNs, 1'000'000);  // containers store ms at worst
    EXPECT_EQ(f.image->width_px(), w);
    EXPECT_EQ(f.image->height_px(), h);
    EXPECT_EQ(read_frame_number(*f.image), n) << "the picture is not frame " << n;
    EXPECT_EQ(red_corner(*f.image), 0);
    if (n > 0) {
      EXPECT_GT(f.pts_ns, d.frames[n - 1].pts_ns);
    }
  }
}

class ClipKind : public ::testing::TestWithParam<Kind> {};

TEST_P(ClipKind, EveryFrameWithExactTimestampsAndPictures) {
  const Kind& k = GetParam();
  CLIP_OR_SKIP(clip, k.file, k.encoder, k.args);
  Decoded d = decode(clip);
  EXPECT_EQ(d.info.display_width_px, 64);
  EXPECT_EQ(d.info.display_height_px, 48);
  EXPECT_NEAR(d.info.frame_rate, kRate, 0.01);
  EXPECT_EQ(d.stats.decode_errors, 0);
  expect_every_frame(d, kFrames, 64, 48);
}

TEST_P(ClipKind, FixedRateTicksPickTheNearestFrame) {
  const Kind& k = GetParam();
  CLIP_OR_SKIP(clip, k.file, k.encoder, k.args);
  SamplingOptions s;
  s.mode = SamplingMode::kFixedRate;
  s.fps = 3.0;  // ticks 0, 1/3, 2/3, ... fall between frames: the nearest must win
  Decoded d = decode(clip, s);
  ASSERT_EQ(d.frames.size(), 6u);  // ticks in [0, 2 s)
  for (std::size_t k2 = 0; k2 < d.frames.size(); ++k2) {
    const double tick_s = static_cast<double>(k2) / 3.0;
    const int nearest =
        static_cast<int>(std::floor(tick_s * kRate + 0.5 - 1e-9));  // ties to the earlier
    const core::Frame& f = d.frames[k2];
    EXPECT_EQ(f.index, nearest) << "tick " << tick_s;
    EXPECT_EQ(read_frame_number(*f.image), nearest);
    EXPECT_LE(std::abs(core::ns_to_seconds(f.pts_ns) - tick_s), 0.5 / kRate + 1e-3);
  }
  EXPECT_EQ(d.stats.frames_converted, 6) << "unsampled frames must not be converted";
}

TEST_P(ClipKind, KeyframesOnlyDecodesOnlyKeyframes) {
  const Kind& k = GetParam();
  CLIP_OR_SKIP(clip, k.file, k.encoder, k.args);
  SamplingOptions s;
  s.mode = SamplingMode::kKeyframes;
  Decoded d = decode(clip, s);
  // MJPEG is all keyframes; the others have one every 10 frames.
  const bool intra = std::string(k.encoder) == "mjpeg";
  const int expected = intra ? kFrames : kFrames / 10;
  ASSERT_EQ(d.frames.size(), static_cast<std::size_t>(expected));
  for (int i = 0; i < expected; ++i) {
    const int n = intra ? i : 10 * i;
    EXPECT_EQ(d.frames[i].index, n);
    EXPECT_EQ(read_frame_number(*d.frames[i].image), n);
    EXPECT_TRUE(d.frames[i].keyframe);
  }
  EXPECT_EQ(d.stats.frames_decoded, expected) << "non-key frames must not be decoded";
  if (!intra) {
    EXPECT_EQ(d.stats.packets_skipped, kFrames - expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, ClipKind, ::testing::ValuesIn(kKinds),
                         [](const auto& p) { return std::string(p.param.name); });

const char* kH264 = "-c:v libx264 -pix_fmt yuv420p -g 10 -sc_threshold 0";

TEST(Sampling, EveryNthStartEndAndCap) {
  CLIP_OR_SKIP(clip, "h264.mp4", "libx264", kH264);
  SamplingOptions every;
  every.mode = SamplingMode::kEveryNth;
  every.every_n = 7;
  Decoded d = decode(clip, every);
  ASSERT_EQ(d.frames.size(), 8u);  // 0, 7, ..., 49
  for (int i = 0; i < 8; ++i) EXPECT_EQ(read_frame_number(*d.frames[i].image), 7 * i);

  SamplingOptions range;  // seeks to 0.4 s (a keyframe) and stops before 1.2 s
  range.mode = SamplingMode::kFixedRate;
  range.fps = 2;
  range.start_ns = 400'000'000;
  range.end_ns = 1'200'000'000;
  d = decode(clip, range);
  ASSERT_EQ(d.frames.size(), 2u);  // ticks 0.4 and 0.9 s
  EXPECT_EQ(d.frames[0].pts_ns, 400'000'000);
  EXPECT_EQ(read_frame_number(*d.frames[0].image), 10);
  EXPECT_EQ(d.frames[0].index, 10);            // estimated from the timestamp after the seek
  EXPECT_EQ(d.frames[1].pts_ns, 880'000'000);  // 0.88 and 0.92 tie at 0.9: the earlier wins
  EXPECT_EQ(read_frame_number(*d.frames[1].image), 22);
  EXPECT_LT(d.stats.frames_decoded, 40)
      << "the seek should skip the start, the end should stop decoding";

  SamplingOptions cap;
  cap.max_frames = 7;
  d = decode(clip, cap);
  ASSERT_EQ(d.frames.size(), 7u);
  EXPECT_EQ(read_frame_number(*d.frames[6].image), 6);
}

TEST(Sampling, SceneChangesWithMinimumAndMaximumGaps) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "no libx264";
  // Grey level flips every 10 frames (1 s at 10 fps): cuts at 1, 2, 3 s.
  std::string err;
  auto clip = make_clip(
      "scenes.mp4",
      "-f lavfi -i "
      "\"color=c=black:s=64x48:r=10:d=4,format=gray,geq=lum='40+170*mod(floor(N/10),2)'\" "
      "-c:v libx264 -pix_fmt yuv420p",
      &err);
  ASSERT_TRUE(clip) << err;
  SamplingOptions s;
  s.mode = SamplingMode::kScene;
  s.scene_threshold = 0.3;
  Decoded d = decode(*clip, s);
  ASSERT_EQ(d.frames.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(d.frames[i].pts_ns, i * 1'000'000'000LL);

  s.scene_min_gap_ns = 1'500'000'000;
  d = decode(*clip, s);
  ASSERT_EQ(d.frames.size(), 2u);  // 0 s, 2 s (1 s and 3 s are too close to the one before)
  EXPECT_EQ(d.frames[1].pts_ns, 2'000'000'000);

  // Max gap: with a threshold no cut reaches, only the gap guarantee adds frames.
  s.scene_min_gap_ns = 0;
  s.scene_threshold = 1.0;
  s.max_gap_ns = 450'000'000;
  d = decode(*clip, s);
  ASSERT_GE(d.frames.size(), 8u);
  for (std::size_t i = 1; i < d.frames.size(); ++i) {
    EXPECT_LE(d.frames[i].pts_ns - d.frames[i - 1].pts_ns, s.max_gap_ns);
  }
}

TEST(OddSizes, TallAndWideFollowThePixtralRule) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "no libx264";
  for (auto [w, h] : {std::pair{17, 1500}, std::pair{1500, 17}}) {
    const std::string name = "odd_" + std::to_string(w) + "x" + std::to_string(h) + ".mp4";
    // 4:4:4 allows odd sizes (4:2:0 needs even ones).
    CLIP_OR_SKIP(clip, name, "libx264", "-c:v libx264 -pix_fmt yuv444p -g 5", w, h, 10.0, 0.5);
    Decoded d = decode(clip);
    const core::TargetSize ts = core::target_size(w, h);
    ASSERT_EQ(d.frames.size(), 5u) << name;
    for (const core::Frame& f : d.frames) {
      EXPECT_EQ(f.image->width_px(), ts.width_px) << name;
      EXPECT_EQ(f.image->height_px(), ts.height_px) << name;
      EXPECT_EQ(f.source_width_px, w);
      EXPECT_EQ(f.source_height_px, h);
    }
    // The red mark: the top-left quadrant of the picture.
    const core::Image& img = *d.frames[0].image;
    const std::uint8_t* p =
        img.data() + img.stride_bytes() * (img.height_px() / 4) + 3 * (img.width_px() / 4);
    EXPECT_GT(p[0], 180) << name;
    EXPECT_LT(p[1], 90) << name;
  }
}

TEST(Sizes, FourKIsResizedInOnePassAndCostsItsTokens) {
  CLIP_OR_SKIP(clip, "4k.mp4", "libx264", "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", 3840,
               2160, 2.0, 1.0);
  Decoded d = decode(clip);
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[0].image->width_px(), 1024);
  EXPECT_EQ(d.frames[0].image->height_px(), 576);
  EXPECT_EQ(core::target_size(3840, 2160).n_tokens(), 2340);
  EXPECT_EQ(red_corner(*d.frames[0].image), 0);
  EXPECT_EQ(read_frame_number(*d.frames[1].image), 1);

  decoder::OutputSizing budget;  // the token budget picks the edge
  budget.max_frame_tokens = 256;
  d = decode(clip, {}, budget);
  ASSERT_FALSE(d.frames.empty());
  const core::Image& img = *d.frames[0].image;
  EXPECT_LE((core::TargetSize{img.width_px(), img.height_px(), 16}).n_tokens(), 256);
  EXPECT_EQ(img.width_px(), 320);  // 12 rows x 21 = 252 tokens; 336 px would cost 12 x 22 = 264
}

struct FormatKind {
  const char* name;
  const char* file;
  const char* encoder;
  const char* args;
  const char* pixel_format;
  int bit_depth;
};

const FormatKind kFormats[] = {
    {"hevc_420_10bit", "h265_10.mkv", "libx265",
     "-c:v libx265 -pix_fmt yuv420p10le -x265-params log-level=error", "yuv420p10le", 10},
    {"h264_422_10bit", "h264_422_10.mp4", "libx264", "-c:v libx264 -pix_fmt yuv422p10le",
     "yuv422p10le", 10},
    {"h264_444", "h264_444.mp4", "libx264", "-c:v libx264 -pix_fmt yuv444p", "yuv444p", 8},
    {"h264_rgb", "h264_rgb.mkv", "libx264rgb", "-c:v libx264rgb -pix_fmt bgr0", "gbrp", 8},
};

class PixelFormats : public ::testing::TestWithParam<FormatKind> {};

TEST_P(PixelFormats, DecodeToTheSamePictures) {
  const FormatKind& k = GetParam();
  CLIP_OR_SKIP(clip, k.file, k.encoder, k.args);
  Decoded d = decode(clip);
  EXPECT_EQ(d.info.pixel_format, k.pixel_format);
  EXPECT_EQ(d.info.bit_depth, k.bit_depth);
  expect_every_frame(d, kFrames, 64, 48);
}

INSTANTIATE_TEST_SUITE_P(Formats, PixelFormats, ::testing::ValuesIn(kFormats),
                         [](const auto& p) { return std::string(p.param.name); });

// The frame ffmpeg's own autorotation shows (its `-autorotate`, on by default), as PPM.
core::Image ffmpeg_first_frame(const std::filesystem::path& clip) {
  const auto ppm = clip_dir() / (clip.filename().string() + ".ppm");
  std::string err;
  EXPECT_TRUE(make_clip(ppm.filename().string(),
                        "-i '" + clip.string() + "' -frames:v 1 -c:v ppm -f image2", &err))
      << err;
  std::vector<std::uint8_t> b = read_bytes(ppm);
  int w = 0, h = 0, maxv = 0, used = 0;
  std::sscanf(reinterpret_cast<const char*>(b.data()), "P6 %d %d %d%n", &w, &h, &maxv, &used);
  core::Image img(w, h, core::PixelFormat::kRgb8);
  std::copy_n(b.begin() + used + 1, static_cast<std::ptrdiff_t>(w) * h * 3, img.data());
  return img;
}

TEST(Orientation, RotationMetadataIsAppliedAsFfmpegDoes) {
  CLIP_OR_SKIP(upright, "upright.mp4", "libx264", "-c:v libx264 -pix_fmt yuv420p", 64, 48, kRate,
               0.2);
  for (int tag : {90, 180, 270}) {
    // The `rotate` tag survives a remux (a re-encode drops it) and becomes a display matrix.
    const std::string name = "rot" + std::to_string(tag) + ".mp4";
    std::string err;
    auto clip = make_clip(
        name, "-i '" + upright.string() + "' -c copy -metadata:s:v:0 rotate=" + std::to_string(tag),
        &err);
    ASSERT_TRUE(clip) << err;
    Decoded d = decode(*clip);
    SCOPED_TRACE(name);
    ASSERT_EQ(d.frames.size(), 5u);
    const core::Image& ours = *d.frames[0].image;
    const core::Image theirs = ffmpeg_first_frame(*clip);
    const bool swap = tag != 180;
    EXPECT_EQ(ours.width_px(), swap ? 48 : 64);
    EXPECT_EQ(ours.height_px(), swap ? 64 : 48);
    EXPECT_EQ(theirs.width_px(), ours.width_px());
    EXPECT_EQ(d.frames[0].source_width_px, swap ? 48 : 64);
    // FFmpeg 5.1 reads tag R as R degrees counter-clockwise: clockwise 360 - R.
    EXPECT_EQ(d.info.rotation_deg, (360 - tag) % 360);
    EXPECT_EQ(red_corner(ours), red_corner(theirs)) << "the mark must be where ffmpeg puts it";
    EXPECT_EQ(red_corner(ours), ((360 - tag) % 360) / 90);
  }
}

TEST(Orientation, AnamorphicSampleAspectRatioIsApplied) {
  // 64x48 stored with 2:1 pixels: displayed 128x48; the mark stays top-left.
  CLIP_OR_SKIP(clip, "sar2.mp4", "libx264", "-c:v libx264 -pix_fmt yuv420p -vf setsar=2", 64, 48,
               kRate, 0.2);
  Decoded d = decode(clip);
  EXPECT_EQ(d.info.sar_num, 2);
  EXPECT_EQ(d.info.sar_den, 1);
  EXPECT_EQ(d.info.display_width_px, 128);
  ASSERT_EQ(d.frames.size(), 5u);
  EXPECT_EQ(d.frames[0].image->width_px(), 128);
  EXPECT_EQ(d.frames[0].image->height_px(), 48);
  EXPECT_EQ(red_corner(*d.frames[0].image), 0);
  EXPECT_EQ(read_frame_number(*d.frames[3].image), 3);
}

// Variable frame rate: 10 fps for 1 s, then 4 fps; the true timestamps must come through.
std::int64_t vfr_pts_ns(int n) {
  return n < 10 ? n * 100'000'000LL : 1'000'000'000LL + (n - 10) * 250'000'000LL;
}

TEST(Timing, VariableFrameRateKeepsTheTrueTimestamps) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "no libx264";
  std::string err;
  auto clip = make_clip(
      "vfr.mkv",
      "-f lavfi -i \"" + pattern(64, 48, 10, 2.0) +
          ",settb=1/1000,setpts='if(lt(N,10),N*0.1,1.0+(N-10)*0.25)/TB'\" -fps_mode passthrough "
          "-c:v libx264 -pix_fmt yuv420p",
      &err);
  ASSERT_TRUE(clip) << err;
  Decoded d = decode(*clip);
  ASSERT_EQ(d.frames.size(), 20u);
  for (int n = 0; n < 20; ++n) {
    EXPECT_NEAR(d.frames[n].pts_ns, vfr_pts_ns(n), 1'000'000) << n;  // mkv stores milliseconds
    EXPECT_EQ(read_frame_number(*d.frames[n].image), n);
  }

  SamplingOptions s;  // 2 fps over VFR: each tick gets the frame truly nearest it
  s.mode = SamplingMode::kFixedRate;
  s.fps = 2;
  d = decode(*clip, s);
  const std::int64_t end_ns = vfr_pts_ns(19) + 250'000'000;
  std::vector<int> expected;
  for (std::int64_t t = 0; t < end_ns; t += 500'000'000) {
    int best = 0;
    for (int n = 1; n < 20; ++n) {
      if (std::llabs(vfr_pts_ns(n) - t) < std::llabs(vfr_pts_ns(best) - t)) best = n;
    }
    if (expected.empty() || expected.back() != best) expected.push_back(best);
  }
  ASSERT_EQ(d.frames.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(read_frame_number(*d.frames[i].image), expected[i]) << "sample " << i;
  }
}

TEST(Timing, ResolutionChangeMidStream) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "no libx264";
  std::string err;
  auto a = make_clip(
      "part_a.ts",
      "-f lavfi -i \"" + pattern(64, 48, kRate, 0.4) + "\" -c:v libx264 -pix_fmt yuv420p", &err);
  ASSERT_TRUE(a) << err;
  auto b = make_clip("part_b.ts",
                     "-f lavfi -i \"" + pattern(96, 64, kRate, 0.4) +
                         "\" -c:v libx264 -pix_fmt yuv420p -output_ts_offset 1",
                     &err);
  ASSERT_TRUE(b) << err;
  const auto joined = clip_dir() / "joined.ts";
  {
    std::vector<std::uint8_t> bytes = read_bytes(*a), more = read_bytes(*b);
    bytes.insert(bytes.end(), more.begin(), more.end());
    std::FILE* f = std::fopen(joined.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  Decoded d = decode(joined);
  ASSERT_EQ(d.frames.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    const bool second = i >= 10;
    EXPECT_EQ(d.frames[i].source_width_px, second ? 96 : 64) << i;
    EXPECT_EQ(d.frames[i].image->width_px(), second ? 96 : 64) << i;
    EXPECT_EQ(read_frame_number(*d.frames[i].image), static_cast<int>(i % 10)) << i;
    if (i % 10) {
      EXPECT_NEAR(d.frames[i].pts_ns - d.frames[i - 1].pts_ns, kFrameNs, 1'000'000) << i;
    }
    if (i) {
      EXPECT_GT(d.frames[i].pts_ns, d.frames[i - 1].pts_ns);
    }
  }
  // The second part starts later than the first ends (-output_ts_offset 1).
  EXPECT_GT(d.frames[10].pts_ns, d.frames[9].pts_ns + kFrameNs);
}

}  // namespace
}  // namespace framescribe::testing
