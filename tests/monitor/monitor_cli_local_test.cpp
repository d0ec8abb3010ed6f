// `framescribe monitor` end to end on local files (with fixture A's tiny model): planted
// symbolic links in --out are never written through; a missing or undecodable file fails at
// once; files play in real time unless --no-realtime, records carry the wall clock; without
// --model the demo model and its framescribe.json settings apply; the option names shared with
// the other commands and the deprecated --every.
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "apps/tiny_model.h"
#include "decoder/video_clips.h"
#include "inference/test_files.h"
#include "monitor/monitor_cli_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

TEST(MonitorCli, RefusesPlantedLinksInTheOutputDirectory) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path victim = dir / "victim.txt";
  for (const std::string planted :
       {"alerts.jsonl", "gaps.jsonl", "cam.descriptions.jsonl", "snapshots"}) {
    { std::ofstream(victim) << "precious\n"; }
    const fs::path out = dir / ("out-" + planted);
    fs::create_directories(out);
    if (planted == "snapshots")
      fs::create_directory_symlink(dir.path(), out / planted);
    else
      fs::create_symlink(victim, out / planted);
    // Nothing listens there: the monitor must stop before it would connect anyway.
    const CliRun run = run_framescribe(
        {"monitor", "rtsp://u:p@127.0.0.1:9/cam?token=x", "--model", model.string(), "-t", "1",
         "--alert", "door=Is the door open?", "--out", out.string(), "--duration", "5"},
        dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 1) << planted << "\n" << run.err;
    EXPECT_NE(run.err.find((out / planted).string()), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("symbolic link"), std::string::npos) << run.err;
    EXPECT_EQ(read_file(victim), "precious\n") << planted;
  }
}

// A 4 s clip (10 fps, 128x96) for the file tests, made once per test process.
fs::path four_second_clip() {
  std::string error;
  const auto clip = make_clip("four.mp4",
                              "-f lavfi -i testsrc=size=128x96:rate=10:duration=4 "
                              "-pix_fmt yuv420p",
                              &error);
  EXPECT_TRUE(clip.has_value()) << error;
  return clip.value_or(fs::path());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A local file that is not there fails at once, exit 1, naming it (before, the source retried
// it forever: the run went on until --duration and exited 0); a file that is not a video, or a
// directory, fails clearly too.
TEST(MonitorCli, AMissingOrBadLocalFileFailsAtOnce) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path missing = dir / "no-such-clip.mp4";
  const fs::path text = dir / "notes.mp4";
  { std::ofstream(text) << "this is not a video\n"; }
  struct Case {
    std::string url, names, says;
  };
  const std::vector<Case> cases = {
      {missing.string(), missing.string(), "no such file"},
      {"file://" + missing.string(), missing.string(), "no such file"},
      {text.string(), text.string(), "cannot play it as a video"},
      {dir.path().string(), dir.path().string(), "not a regular file"},
  };
  for (const Case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const CliRun run = run_framescribe(
        {"monitor", c.url, "--model", model.string(), "-t", "1", "--duration", "20"},
        dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 1) << c.url << "\n" << run.err;
    EXPECT_LT(seconds_since(t0), 10) << c.url;
    EXPECT_NE(run.err.find(c.names), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
  }
}

// ISO 8601 UTC with milliseconds ("2026-12-05T00:51:40.728Z") to ns since 1970.
std::int64_t parse_iso_ms(const std::string& s) {
  std::tm tm{};
  int ms = -1;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7 ||
      s.size() != 24)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000 + ms * 1'000'000LL;
}

std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A file is played like a live stream (ffmpeg's -re): a 4 s clip takes about 4 s, then the
// monitor ends (exit 0) instead of reconnecting; --no-realtime (or --realtime=false) reads it
// as fast as the engine goes, describing every window. Each description record carries the
// wall-clock time of its newest frame (ISO 8601 UTC and ns) beside the media times.
TEST(MonitorCli, FilesPlayInRealTimeUnlessToldNotAndRecordsCarryWallClock) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  const std::vector<std::string> common = {
      "--model",    model.string(), "-t", "1", "--interval", "1",  "--sample", "0.5",
      "--max-edge", "64",           "-n", "4", "--duration", "30", "--quiet"};
  auto monitor = [&](const std::string& out, std::vector<std::string> extra, double* wall) {
    std::vector<std::string> args = {"monitor", clip.string(), "--out", (dir / out).string()};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), extra.begin(), extra.end());
    const auto t0 = std::chrono::steady_clock::now();
    CliRun run = run_framescribe(args, dir / "stderr.txt");
    *wall = seconds_since(t0);
    return run;
  };
  double paced = 0, fast = 0, fast2 = 0;
  const std::int64_t before = wall_now_ns();
  const CliRun r1 = monitor("paced", {}, &paced);
  const std::int64_t after = wall_now_ns();
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_GE(paced, 3.5) << r1.err;
  EXPECT_LT(paced, 20) << r1.err;  // ended with the file, not at --duration
  const CliRun r2 = monitor("fast", {"--no-realtime"}, &fast);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  const CliRun r3 = monitor("fast2", {"--realtime=false"}, &fast2);
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_LT(fast, 2.5) << r2.err;
  EXPECT_LT(fast2, 2.5) << r3.err;
  std::printf("4 s clip: %.2f s paced, %.2f s and %.2f s as fast as possible\n", paced, fast,
              fast2);

  // Windows at 1, 2, 3 s of the clip and a last one at its end (3.5 s); none dropped when
  // reading as fast as possible.
  auto records = [&](const std::string& out) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(read_file(dir / out / "four.descriptions.jsonl"));
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  };
  EXPECT_EQ(records("fast").size(), 4u) << r2.err;
  const auto paced_records = records("paced");
  ASSERT_GE(paced_records.size(), 2u) << r1.err;
  std::int64_t previous = 0;
  for (std::size_t i = 0; i < paced_records.size(); ++i) {
    const auto& j = paced_records[i];
    ASSERT_TRUE(j.contains("wall_clock") && j.contains("wall_clock_ns")) << j.dump();
    const std::int64_t ns = j["wall_clock_ns"].get<std::int64_t>();
    EXPECT_GE(ns, before) << j.dump();
    EXPECT_LE(ns, after) << j.dump();
    EXPECT_EQ(parse_iso_ms(j["wall_clock"].get<std::string>()), ns / 1'000'000 * 1'000'000)
        << j.dump();
    // Paced: a window's newest frame comes about a second (--interval) after the previous
    // window's. The last record is the window the file's end makes of the frames since the one
    // before, which may be any part of an interval later (0.49994 s was seen), so it is only
    // checked to come later.
    if (previous != 0) {
      const bool last = i + 1 == paced_records.size();
      EXPECT_GT(ns - previous, last ? 0 : 500'000'000) << j.dump();
    }
    previous = ns;
    EXPECT_TRUE(j.contains("start") && j.contains("end")) << j.dump();
  }
}

// The longest edge of a baseline or progressive JPEG's frame (0 if none found).
int jpeg_longest_edge(const std::string& jpeg) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(jpeg[k]); };
    if (b(i) == 0xFF && (b(i + 1) == 0xC0 || b(i + 1) == 0xC1 || b(i + 1) == 0xC2)) {
      const int h = b(i + 5) << 8 | b(i + 6), w = b(i + 7) << 8 | b(i + 8);
      return std::max(w, h);
    }
  }
  return 0;
}

// Without --model the monitor uses the bundled demo model, as summarize does, with the settings
// its framescribe.json recommends (max_edge 64: the frames the page serves are 64 px on their
// longest edge, where monitor's own default is 512); global -q silences the notice.
TEST(MonitorCli, UsesTheDemoModelAndItsSettingsWhenNoModelIsGiven) {
  TempDir dir;
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  const int http_port = free_port();
  CliRun run;
  std::thread cli([&] {
    run = run_framescribe({"monitor", clip.string(), "-t", "1", "--interval", "1", "-n", "4",
                           "--http", "127.0.0.1:" + std::to_string(http_port), "--quiet"},
                          dir / "stderr.txt");
  });
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(1);
  int edge = 0;
  for (int i = 0; i < 40 && edge == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto res = client.Get("/frame/0.jpg"); res && res->status == 200)
      edge = jpeg_longest_edge(res->body);
  }
  cli.join();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("using the bundled demo model"), std::string::npos) << run.err;
  EXPECT_EQ(edge, 64);

  const CliRun quiet = run_framescribe(
      {"-q", "monitor", clip.string(), "-t", "1", "--no-realtime", "--quiet"}, dir / "stderr.txt");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("demo model"), std::string::npos) << quiet.err;
}

// The shared vocabulary: --interval (with --every still read, one warning naming --interval),
// -t/--threads/--engine-threads, --top-p/--temperature/--seed.
TEST(MonitorCli, SharedOptionNamesAndTheOldEvery) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"--every", "2", "--threads", "1"},
           {"--interval", "2", "--engine-threads", "1", "--temperature", "0.7", "--top-p", "0.9",
            "--seed", "7"}}) {
    std::vector<std::string> args = {"monitor",       clip.string(), "--model", model.string(),
                                     "--no-realtime", "--quiet",     "-n",      "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliRun run = run_framescribe(args, dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const bool old = extra[0] == "--every";
    const std::size_t warned = run.err.find("--every is deprecated");
    EXPECT_EQ(warned != std::string::npos, old) << run.err;
    if (old) {
      EXPECT_NE(run.err.find("--interval", warned), std::string::npos) << run.err;
      EXPECT_EQ(run.err.find("--every is deprecated", warned + 1), std::string::npos) << run.err;
    }
  }
  const CliRun both = run_framescribe(
      {"monitor", clip.string(), "--model", model.string(), "--every", "2", "--interval", "2"},
      dir / "stderr.txt");
  EXPECT_EQ(both.exit_code, 2) << both.err;
  for (const std::string bad : {"0", "1.5", "x"}) {
    const CliRun run = run_framescribe(
        {"monitor", clip.string(), "--model", model.string(), "--top-p", bad}, dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 2) << bad << "\n" << run.err;
    EXPECT_NE(run.err.find("--top-p"), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace framescribe::testing
