// The sampled frames as files (decoder/frame_export.h) from the bundled sample clip (16 s at
// 10 fps): one PNG per sampled frame, named by timestamp, and one frames.jsonl line per frame
// whose sizes and token counts agree with the PNG files read back.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/decoder/frame_export.h"
#include "framescribe/decoder/still_image.h"
#include "framescribe/decoder/video_request.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

TEST(FrameExport, OnePngAndOneLinePerSampledFrame) {
  const fs::path dir =
      fs::temp_directory_path() / ("fs-frame-export-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  decoder::VideoRequest v;
  v.fps = 0.5;
  v.max_edge_px = 64;
  const fs::path clip = fs::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";
  auto src = decoder::FfmpegSource::open(clip.string(), v.source());
  long long calls = 0;
  const decoder::FrameExport r = decoder::export_frames(
      *src, v.sampling(), v.sizing(), dir / "frames", [&](double, long long n) { calls = n; });
  EXPECT_EQ(r.frames, 8);  // 16 s at one frame every 2 s
  EXPECT_EQ(calls, r.frames);
  std::ifstream in(dir / "frames" / "frames.jsonl");
  std::string line;
  long long lines = 0, tokens = 0;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const fs::path png = dir / "frames" / j["file"].get<std::string>();
    ASSERT_TRUE(fs::is_regular_file(png)) << png;
    const core::Image img = decoder::load_image(png.string());
    EXPECT_EQ(j["width"], img.width_px());
    EXPECT_EQ(j["height"], img.height_px());
    EXPECT_LE(std::max(img.width_px(), img.height_px()), 64);
    EXPECT_EQ(j["tokens"], (img.height_px() / 16) * (img.width_px() / 16 + 1));
    EXPECT_NEAR(j["pts_s"].get<double>(), 2.0 * static_cast<double>(lines), 0.051);
    tokens += j["tokens"].get<long long>();
    ++lines;
  }
  EXPECT_EQ(lines, r.frames);
  EXPECT_EQ(tokens, r.tokens);
  fs::remove_all(dir);
}

TEST(FrameExport, AnImpossibleDirectoryIsAnIoError) {
  decoder::VideoRequest v;
  v.fps = 1;
  const fs::path clip = fs::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";
  auto src = decoder::FfmpegSource::open(clip.string(), v.source());
  try {
    (void)decoder::export_frames(*src, v.sampling(), v.sizing(), "/proc/no/such/dir", nullptr);
    ADD_FAILURE() << "wrote into /proc";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("cannot create the output directory"), std::string::npos);
  }
}

}  // namespace
}  // namespace framescribe
