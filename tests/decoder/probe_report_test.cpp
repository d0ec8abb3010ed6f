// probe's report (decoder/probe_report.h) of made-up stream facts: the token plan's arithmetic
// (a 512x288 frame is 18 rows of 33 tokens) and every fact in both forms.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "framescribe/decoder/probe_report.h"

namespace framescribe {
namespace {

using namespace framescribe::decoder;

StreamInfo hd_clip() {
  StreamInfo in;
  in.url = "clip.mp4";
  in.container = "mov,mp4";
  in.codec = "h264";
  in.codec_long = "H.264 / AVC";
  in.pixel_format = "yuv420p";
  in.bit_depth = 8;
  in.duration_ns = 10'000'000'000;
  in.frame_rate = 25;
  in.frame_count = 250;
  in.coded_width_px = 1920;
  in.coded_height_px = 1080;
  in.sar_num = 1;
  in.sar_den = 1;
  in.display_width_px = 1920;
  in.display_height_px = 1080;
  return in;
}

SamplingOptions one_fps() {
  SamplingOptions s;
  s.mode = SamplingMode::kFixedRate;
  s.fps = 1;
  return s;
}

TEST(ProbeReport, JsonPlan) {
  const nlohmann::json j = nlohmann::json::parse(
      probe_report(hd_clip(), one_fps(), 10, /*counted=*/false, {512, 288, 16}, /*json=*/true));
  EXPECT_EQ(j["video"], "clip.mp4");
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 10.0);
  EXPECT_EQ(j["sample_aspect_ratio"], "1:1");
  EXPECT_EQ(j["width"], 1920);
  EXPECT_EQ(j["plan"]["sampling"], describe(one_fps()));
  EXPECT_EQ(j["plan"]["frames"], 10);
  EXPECT_EQ(j["plan"]["frames_counted"], false);
  EXPECT_EQ(j["plan"]["tokens_per_frame"], 594);
  EXPECT_EQ(j["plan"]["total_tokens"], 5940);
  EXPECT_EQ(j["plan"]["context_windows_128k"], 1);
  // 1000 frames of 1024x1024 (64 rows of 65): 4,160,000 tokens fill 32 contexts of 131,072.
  const nlohmann::json big =
      nlohmann::json::parse(probe_report(hd_clip(), one_fps(), 1000, true, {1024, 1024, 16}, true));
  EXPECT_EQ(big["plan"]["total_tokens"], 4160000);
  EXPECT_EQ(big["plan"]["context_windows_128k"], 32);
}

TEST(ProbeReport, TextLines) {
  StreamInfo in = hd_clip();
  in.url = std::string(2000, 'a') + ".mp4";  // longer than any fixed buffer
  const std::string t = probe_report(in, one_fps(), 10, /*counted=*/true, {512, 288, 16}, false);
  EXPECT_EQ(t.rfind("video:       " + in.url + "\n", 0), 0u);
  for (const char* line :
       {"codec:       h264 (H.264 / AVC), yuv420p, 8-bit\n", "duration:    10.000 s\n",
        "frame rate:  25.000 fps (250 frames)\n",
        "size:        1920x1080 stored, SAR 1:1, rotation 0 -> 1920x1080 displayed\n",
        "audio:       no\n", "  frames:            10 (counted)\n",
        "  frame size:        512x288 (32x18 patches)\n", "  tokens per frame:  594\n",
        "  total tokens:      5940\n", "  128k windows:      1\n"})
    EXPECT_NE(t.find(line), std::string::npos) << line << "\nin:\n" << t.substr(2000);
  in.duration_ns = 0;  // unknown: no duration line
  EXPECT_EQ(probe_report(in, one_fps(), 10, false, {512, 288, 16}, false).find("duration:"),
            std::string::npos);
}

}  // namespace
}  // namespace framescribe
