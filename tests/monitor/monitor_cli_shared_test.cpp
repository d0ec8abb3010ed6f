// `framescribe monitor` with several streams on one model (issue 24): the bundled sample clips
// as live sources (read as fast as the engine goes, so no window is dropped), the demo model,
// two alert rules with threshold 0 (each fires on a stream's first window, with its score); the
// streams batched step by step (the default) and shared one call at a time (--step-tokens 0)
// write the same descriptions and alerts, score for score. The scheduler's counters show that
// steps really were batched.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "inference/test_files.h"
#include "monitor/monitor_cli_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kSamples = fs::path(FS_SOURCE_DIR) / "samples";

// The records of a JSONL file without what depends on the run (wall-clock times, latencies),
// one string per record; the snapshot path is kept relative to --out.
std::vector<std::string> records(const fs::path& file, const fs::path& out) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    for (const char* key : {"wall_clock", "wall_clock_ns", "latency_s", "time"}) j.erase(key);
    if (j.contains("snapshot")) {
      std::string s = j["snapshot"].get<std::string>();
      if (s.rfind(out.string(), 0) == 0) s = s.substr(out.string().size());
      j["snapshot"] = s;
    }
    lines.push_back(j.dump());
  }
  return lines;
}

struct MonitorRun {
  CliRun run;
  std::map<std::string, std::vector<std::string>> files;  // file name -> records
};

MonitorRun monitor(const TempDir& dir, const std::string& name, std::vector<std::string> extra) {
  const fs::path out = dir / name;
  std::vector<std::string> args = {"monitor",
                                   (kSamples / "shapes-three.mp4").string(),
                                   (kSamples / "shapes-demo.mp4").string(),
                                   (kSamples / "shapes-three.mp4").string(),
                                   "--no-realtime",
                                   "-t",
                                   "1",
                                   "--interval",
                                   "4",
                                   "--window",
                                   "6",
                                   "--alert",
                                   "circle=Is there a circle?",
                                   "--alert",
                                   "Is anything yellow?",
                                   "--alert-threshold",
                                   "0",
                                   "--quiet",
                                   "--status-every",
                                   "0",
                                   "-v",
                                   "-o",
                                   out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  MonitorRun r;
  r.run = run_framescribe(args, dir / (name + ".stderr"));
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".jsonl")
      r.files[e.path().filename().string()] = records(e.path(), out);
  return r;
}

TEST(MonitorShared, BatchedStreamsAnswerAsOneCallAtATime) {
  TempDir dir;
  const MonitorRun batched = monitor(dir, "batched", {});
  const MonitorRun old = monitor(dir, "one-at-a-time", {"--step-tokens", "0"});
  const MonitorRun small = monitor(dir, "small-steps", {"--step-tokens", "7"});
  for (const MonitorRun* r : {&batched, &old, &small}) ASSERT_EQ(r->run.exit_code, 0) << r->run.err;

  // Three streams (the same clip twice: two file stems), gaps, alerts.
  for (const char* f : {"shapes-three.descriptions.jsonl", "shapes-three-2.descriptions.jsonl",
                        "shapes-demo.descriptions.jsonl", "alerts.jsonl"}) {
    ASSERT_TRUE(old.files.count(f)) << f;
    EXPECT_FALSE(old.files.at(f).empty()) << f;
  }
  EXPECT_EQ(old.files.size(), 5u);  // and gaps.jsonl
  // Threshold 0: each rule fires once a stream (its first window starts an episode that never
  // ends), with that window's exact score; every window's description is in the stream files.
  std::size_t windows = 0;
  for (const auto& [f, lines] : old.files)
    if (f.find(".descriptions.") != std::string::npos) windows += lines.size();
  EXPECT_GE(windows, 9u);
  EXPECT_EQ(old.files.at("alerts.jsonl").size(), 3u * 2u);
  // The same stream twice: the same answers.
  EXPECT_EQ(old.files.at("shapes-three.descriptions.jsonl").size(),
            old.files.at("shapes-three-2.descriptions.jsonl").size());

  // Alerts of different streams land in alerts.jsonl in the order they happen to fire: the
  // records are compared as multisets there, line by line in the per-stream files.
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const MonitorRun* r : {&batched, &small}) {
    ASSERT_EQ(r->files.size(), old.files.size());
    for (const auto& [f, lines] : old.files) {
      ASSERT_TRUE(r->files.count(f)) << f;
      if (f == "alerts.jsonl")
        EXPECT_EQ(sorted(r->files.at(f)), sorted(lines)) << f;
      else
        EXPECT_EQ(r->files.at(f), lines) << f;
    }
  }

  // -v: the scheduler's counters at the end; batched steps served several streams at once.
  EXPECT_EQ(old.run.err.find("scheduler "), std::string::npos) << old.run.err;
  for (const MonitorRun* r : {&batched, &small})
    EXPECT_NE(r->run.err.find("scheduler "), std::string::npos) << r->run.err;
  EXPECT_NE(small.run.err.find("(at most 7 rows"), std::string::npos) << small.run.err;
}

TEST(MonitorShared, StepTokensIsCheckedAndExplained) {
  TempDir dir;
  const CliRun bad =
      run_framescribe({"monitor", (kSamples / "shapes-demo.mp4").string(), "--step-tokens", "-1"},
                      dir / "stderr.txt");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--step-tokens"), std::string::npos) << bad.err;
  for (const char* command : {"monitor", "batch"}) {
    const CliRun help = run_framescribe({command, "--help"}, dir / "stderr.txt");
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_NE(help.out.find("--step-tokens"), std::string::npos) << command;
    EXPECT_NE(help.out.find("one whole call at a time"), std::string::npos) << help.out;
  }
}

}  // namespace
}  // namespace framescribe::testing
