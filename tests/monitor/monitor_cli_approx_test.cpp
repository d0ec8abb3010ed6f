// `framescribe monitor --approximate-reuse` end to end (issue 24, opt-in): the sample clip as a
// live file source on the bundled demo model, windows that slide one second at a time; with
// the flag the -v engine line reports tokens kept shifted (> 0) and fewer tokens prefilled than
// the same run without it, whose line reports none; descriptions are written either way;
// monitor's and summarize's --help name the option, say answers may change and where the
// measurement is.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "inference/test_files.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

const std::string kClip = (fs::path(FS_SOURCE_DIR) / "samples/shapes-demo.mp4").string();

struct EngineLine {
  long long prefilled = -1, shifted = 0;
};

// The -v line "engine reuse: ... prefilled P of T prompt tokens (K kept, S of them shifted
// (approximate), ...".
EngineLine engine_line(const std::string& err) {
  EngineLine e;
  std::smatch m;
  if (std::regex_search(err, m, std::regex(R"(engine reuse: .*prefilled (\d+) of \d+ prompt)")))
    e.prefilled = std::stoll(m[1]);
  if (std::regex_search(err, m, std::regex(R"((\d+) of them shifted \(approximate\))")))
    e.shifted = std::stoll(m[1]);
  return e;
}

// Description records written under `out`, each parsed (a bad line fails the test).
int descriptions(const fs::path& out) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".descriptions.jsonl") == std::string::npos) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json j = nlohmann::json::parse(line);
      EXPECT_TRUE(j.is_object()) << line;
      ++n;
    }
  }
  return n;
}

TEST(MonitorApproxCli, SlidingWindowsKeepShiftedTokensOnlyWhenAskedTo) {
  TempDir dir;
  EngineLine with, without;
  for (const bool approx : {true, false}) {
    const fs::path out = dir / (approx ? "approx" : "exact");
    std::vector<std::string> args = {
        "-v", "monitor",  kClip, "-t", "1", "--no-realtime", "--quiet",   "--interval",
        "1",  "--window", "4",   "-n", "8", "--out",         out.string()};
    if (approx) args.push_back("--approximate-reuse");
    const CliRun run = run_framescribe(args, dir / "stderr.txt");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    (approx ? with : without) = engine_line(run.err);
    EXPECT_GE(descriptions(out), 3) << run.err;
    if (!approx) {
      EXPECT_EQ(run.err.find("shifted"), std::string::npos) << run.err;
    }
  }
  ASSERT_GE(with.prefilled, 0) << "no engine line with -v";
  ASSERT_GE(without.prefilled, 0) << "no engine line with -v";
  EXPECT_GT(with.shifted, 0);
  EXPECT_EQ(without.shifted, 0);
  EXPECT_LT(with.prefilled, without.prefilled);
}

TEST(MonitorApproxCli, SummarizeAcceptsTheOption) {
  TempDir dir;
  const CliRun run = run_framescribe({"summarize", kClip, "-t", "1", "--quiet", "-n", "8",
                                      "--approximate-reuse", "-o", (dir / "out").string()},
                                     dir / "stderr.txt");
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(MonitorApproxCli, HelpSaysAnswersMayChangeAndWhereItIsMeasured) {
  TempDir dir;
  for (const std::string cmd : {"monitor", "summarize"}) {
    const CliRun run = run_framescribe({cmd, "--help"}, dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 0) << cmd;
    const std::string text = run.out + run.err;
    EXPECT_NE(text.find("--approximate-reuse"), std::string::npos) << cmd << "\n" << text;
    EXPECT_NE(text.find("MAY CHANGE"), std::string::npos) << cmd;
    EXPECT_NE(text.find("inference/README.md"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace framescribe::testing
