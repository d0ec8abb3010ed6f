// `framescribe probe` and `framescribe frames` end to end: the built binary on a clip made with
// the ffmpeg command, checked against what the clip was built with.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "inference/test_files.h"

namespace fs = std::filesystem;
using framescribe::testing::CliRun;
using framescribe::testing::run_framescribe;
using nlohmann::json;

namespace {

class FramesProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    clip_ = dir_ / "clip.mp4";
    // 160x120, 25 fps, 2 s = 50 frames, a keyframe every 10 frames.
    const std::string cmd =
        "ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i "
        "testsrc=size=160x120:rate=25 -t 2 -c:v libx264 -g 10 -pix_fmt yuv420p -y '" +
        clip_.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  CliRun run(const std::vector<std::string>& args) {
    return run_framescribe(args, dir_ / "stderr.txt");
  }

  framescribe::testing::TempDir dir_;
  fs::path clip_;
};

// Width and height from a PNG's IHDR chunk (big-endian at bytes 16..23).
std::pair<int, int> png_size(const fs::path& p) {
  std::vector<std::uint8_t> b = framescribe::testing::read_bytes(p);
  if (b.size() < 24 || b[1] != 'P' || b[2] != 'N' || b[3] != 'G') return {-1, -1};
  auto be32 = [&](int o) { return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]; };
  return {be32(16), be32(20)};
}

TEST_F(FramesProbe, ProbeDescribesTheClipAndItsTokenPlan) {
  CliRun r = run({"probe", clip_.string(), "--fps", "2", "--max-edge", "1024", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j.at("codec"), "h264");
  EXPECT_EQ(j.at("width"), 160);
  EXPECT_EQ(j.at("height"), 120);
  EXPECT_NEAR(j.at("duration_s").get<double>(), 2.0, 0.05);
  EXPECT_NEAR(j.at("frame_rate").get<double>(), 25.0, 1e-6);
  const json& plan = j.at("plan");
  // 160x120 stays below 1024; each side up to a multiple of 16: 160x128 = 10 x 8 patches,
  // 8 rows x (10 [IMG] + 1) = 88 tokens; ticks 0, 0.5, 1, 1.5 s = 4 frames.
  EXPECT_EQ(plan.at("frame_width"), 160);
  EXPECT_EQ(plan.at("frame_height"), 128);
  EXPECT_EQ(plan.at("tokens_per_frame"), 88);
  EXPECT_EQ(plan.at("frames"), 4);
  EXPECT_EQ(plan.at("total_tokens"), 352);
  EXPECT_EQ(plan.at("context_windows_128k"), 1);
}

TEST_F(FramesProbe, ProbeAndFramesPlanLikeSummarizeByDefault) {
  // probe and frames used every frame at 1024 px while summarize used the model's settings (the
  // demo model: 1 fps, 64 px), so "exactly as the model will see them" was not true by default.
  const fs::path model = fs::path(FS_SOURCE_DIR) / "samples" / "models" / "framescribe-demo";
  if (!fs::is_regular_file(model / "config.json")) GTEST_SKIP() << "no demo model";
  CliRun r = run({"summarize", clip_.string(), "--model", model.string(), "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json plan = json::parse(r.out);
  r = run({"probe", clip_.string(), "--model", model.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json probe = json::parse(r.out).at("plan");
  EXPECT_EQ(probe.at("frames"), plan.at("frames"));
  EXPECT_EQ(probe.at("frame_width"), plan.at("frame_width_px"));
  EXPECT_EQ(probe.at("frame_height"), plan.at("frame_height_px"));
  const fs::path out = dir_ / "default-frames";
  r = run({"frames", clip_.string(), "--model", model.string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out / "frames.jsonl");
  int n = 0;
  for (std::string line; std::getline(in, line); ++n)
    EXPECT_EQ(json::parse(line).at("width"), plan.at("frame_width_px")) << line;
  EXPECT_EQ(n, plan.at("frames").get<int>());
}

TEST_F(FramesProbe, FramesWritesTheSampledFramesAndTheirIndex) {
  const fs::path out = dir_ / "frames";
  CliRun r =
      run({"frames", clip_.string(), "--fps", "2", "--max-edge", "64", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out / "frames.jsonl");
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  double previous = -1;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const json& f = lines[k];
    const double pts = f.at("pts_s").get<double>();
    // The frame nearest tick k/2 s: within half a frame interval (20 ms) of it.
    EXPECT_LE(std::fabs(pts - 0.5 * static_cast<double>(k)), 0.020 + 1e-9) << "frame " << k;
    EXPECT_GT(pts, previous);
    previous = pts;
    EXPECT_EQ(f.at("index").get<int>(), static_cast<int>(std::lround(pts * 25)));
    // 160x120 with a 64-pixel longest edge: 64x48 = 4 x 3 patches, 3 x (4 + 1) = 15 tokens.
    EXPECT_EQ(f.at("width"), 64);
    EXPECT_EQ(f.at("height"), 48);
    EXPECT_EQ(f.at("tokens"), 15);
    const fs::path file = out / f.at("file").get<std::string>();
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(png_size(file), std::make_pair(64, 48));
  }
}

TEST_F(FramesProbe, BadInputsExitWithAClearMessage) {
  const fs::path empty = dir_ / "empty.mp4";
  std::ofstream(empty).close();
  CliRun r = run({"probe", empty.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("empty.mp4"), std::string::npos) << r.err;
  r = run({"frames", clip_.string()});  // --out missing: a usage error
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run({"frames", clip_.string(), "--fps", "-1", "--out", (dir_ / "x").string()});
  EXPECT_NE(r.exit_code, 0);
}

// Symlinks already in the output directory (one named like the first frame, one named
// frames.jsonl) are replaced by the files, never written through to what they point at.
TEST_F(FramesProbe, FramesReplacesSymlinksInTheOutputDirectory) {
  const fs::path out = dir_ / "linked";
  fs::create_directories(out);
  const fs::path victim_png = dir_ / "victim.png", victim_jsonl = dir_ / "victim.jsonl";
  std::ofstream(victim_png) << "keep";
  std::ofstream(victim_jsonl) << "keep";
  fs::create_symlink(victim_png, out / "0000000.000.png");
  fs::create_symlink(victim_jsonl, out / "frames.jsonl");
  CliRun r =
      run({"frames", clip_.string(), "--fps", "2", "--max-edge", "64", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(framescribe::testing::read_bytes(victim_png).size(), 4u);
  EXPECT_EQ(framescribe::testing::read_bytes(victim_jsonl).size(), 4u);
  EXPECT_FALSE(fs::is_symlink(out / "0000000.000.png"));
  EXPECT_FALSE(fs::is_symlink(out / "frames.jsonl"));
  EXPECT_EQ(png_size(out / "0000000.000.png").first, 64);
  std::ifstream in(out / "frames.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 4);
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

// Inputs FFmpeg would read as something else than a video file are refused with a message that
// names the format or the protocol: an HLS playlist named .mp4 listing a local clip, a concat:
// protocol name, a tcp:// URL.
TEST_F(FramesProbe, NestedInputsAndOtherProtocolsAreRefused) {
  const fs::path playlist = dir_ / "x.mp4";
  std::ofstream(playlist) << "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n"
                          << clip_.string() << "\n#EXT-X-ENDLIST\n";
  CliRun r = run({"probe", playlist.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("format 'hls'"), std::string::npos) << r.err;
  r = run({"frames", playlist.string(), "--out", (dir_ / "hls").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("format 'hls'"), std::string::npos) << r.err;
  r = run({"probe", "concat:" + clip_.string() + "|" + clip_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("protocol"), std::string::npos) << r.err;
  r = run({"probe", "tcp://127.0.0.1:9/x.mp4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("URL scheme 'tcp'"), std::string::npos) << r.err;
  // summarize checks every name before it loads anything.
  r = run({"summarize", clip_.string(), "subfile,,0,100,:" + clip_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("protocol"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("demo model"), std::string::npos) << r.err;
}

}  // namespace
