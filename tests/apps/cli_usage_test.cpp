// The command line as a user mistypes it: unknown options are usage errors (exit 2) that name the
// closest real option; -v and -q are global, accepted before or after the command's name. The
// shared vocabulary (-t/--threads, --max-edge, -n/--max-tokens, --temperature/--top-p/--seed,
// --every, --decoder-threads) in every command, old spellings still read; out-of-range values
// exit 2 naming the nearest valid ones; media times in seconds or [HH:]MM:SS[.ms].
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

testing::CliRun run(const std::vector<std::string>& args) {
  return testing::run_framescribe(
      args, fs::temp_directory_path() /
                ("fs-cli-usage-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".err"));
}

TEST(CliUsage, UnknownOptionsExit2AndSuggestTheClosestOption) {
  struct Case {
    std::vector<std::string> args;
    std::string suggestion;
  };
  for (const Case& c : std::vector<Case>{
           {{"summarize", "--max-edg", "512", "x.mp4"}, "did you mean --max-edge?"},
           {{"summarize", "x.mp4", "--fsp", "1"}, "did you mean --fps?"},
           {{"probe", "x.mp4", "--jsno"}, "did you mean --json?"},
           {{"search", "db", "q", "--vidoe", "a"}, "did you mean --video?"},
           {{"info", "--modle", "m"}, "did you mean --model?"},
       }) {
    const testing::CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << "\n" << r.err;
    EXPECT_NE(r.err.find(c.suggestion), std::string::npos) << r.err;
  }
  // Nothing close: still a usage error, and no made-up suggestion.
  const testing::CliRun far = run({"probe", "x.mp4", "--zzzzzzzzzz"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

TEST(CliUsage, VerboseAndQuietAreAcceptedAfterTheCommand) {
  const std::string clip = std::string(FS_SOURCE_DIR) + "/samples/shapes-demo.mp4";
  const testing::CliRun before = run({"-q", "probe", clip});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  const testing::CliRun after = run({"probe", clip, "-q"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(run({"probe", clip, "-v"}).exit_code, 0);
}

const std::string kClip = std::string(FS_SOURCE_DIR) + "/samples/shapes-demo.mp4";
const std::string kDemo = std::string(FS_SOURCE_DIR) + "/samples/models/framescribe-demo";

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// The sampling and size defaults the help names are the ones summarize, probe and frames use
// (the model's framescribe.json, else 1 fps and 512 px), not "every frame" at 1024 px.
TEST(CliUsage, HelpStatesTheRealSamplingAndSizeDefaults) {
  for (const char* cmd : {"summarize", "probe", "frames"}) {
    const testing::CliRun r = run({cmd, "--help"});
    ASSERT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_EQ(r.out.find("every frame)"), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("else --fps 1"), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_EQ(r.out.find("INT=1024"), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("else 512"), std::string::npos) << cmd << "\n" << r.out;
  }
}

// Options that are each valid but wrong together are usage errors too (exit 2, the message says
// which), checked before any model or video is opened.
TEST(CliUsage, ContradictoryOptionsExit2BeforeAnyWork) {
  const std::string clip = std::string(FS_SOURCE_DIR) + "/samples/shapes-demo.mp4";
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"summarize", clip, "-q", "--start", "10", "--end", "5"}, "must be after --start"},
           {{"summarize", clip, "-q", "--format", "srt"}, "give --out DIR"},
           {{"summarize", clip, "-q", "--overlap", "100", "--window-seconds", "10"},
            "must be shorter than --window-seconds"},
           {{"summarize", clip, "-q", "--format", "nope", "--out", "/nonexistent/x"},
            "unknown output format"},
           {{"probe", clip, "--start", "1:00", "--end", "0:30"}, "must be after --start"},
           {{"frames", clip, "--start", "10", "--end", "5", "--out", "/nonexistent/x"},
            "must be after --start"},
           {{"summarize", clip, "-q", "-n", "99999999"}, "<= 1048576, got 99999999"},
       }) {
    const testing::CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.says << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(CliUsage, EveryCommandListsTheSharedOptionNames) {
  struct Case {
    std::vector<std::string> command;
    std::vector<std::string> names;
  };
  const std::vector<std::string> engine = {"-t,--threads",  "--max-edge", "-n,--max-tokens",
                                           "--temperature", "--top-p",    "--seed"};
  for (const Case& c : std::vector<Case>{
           {{"ask"}, engine},
           {{"summarize"},
            {"-t,--threads", "--max-edge", "-n,--max-tokens", "--temperature", "--top-p", "--seed",
             "--every", "--decoder-threads", "--start"}},
           {{"probe"}, {"--max-edge", "--every", "--decoder-threads", "--start", "--end"}},
           {{"frames"}, {"--max-edge", "--every", "--decoder-threads", "--start", "--end"}},
           {{"batch"}, {"-t,--threads"}},
           {{"bench", "engine"}, {"-t,--threads"}},
           {{"reference-check"}, {"-t,--threads"}},
       }) {
    std::vector<std::string> args = c.command;
    args.push_back("--help");
    const testing::CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 0) << c.command[0] << "\n" << r.err;
    for (const std::string& n : c.names) EXPECT_TRUE(has(r.out, n)) << c.command[0] << ": " << n;
  }
  // tokenize lost -t (it means --threads elsewhere) and keeps --tokenizer.
  const testing::CliRun tok = run({"tokenize", "--help"});
  EXPECT_TRUE(has(tok.out, "--tokenizer")) << tok.out;
  EXPECT_FALSE(has(tok.out, "-t,")) << tok.out;
  EXPECT_EQ(run({"tokenize", "-t", kDemo, "hello"}).exit_code, 2);
  EXPECT_EQ(run({"tokenize", "--tokenizer", kDemo, "hello"}).exit_code, 0);
}

TEST(CliUsage, OldSpellingsStillParse) {
  // probe and frames run no engine: their old --threads (decoder threads) is still read.
  const testing::CliRun p = run({"probe", kClip, "--threads", "1", "--json"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  const testing::CliRun d = run({"probe", kClip, "--decoder-threads", "1", "--json"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(p.out, d.out);
  // summarize: --engine-threads and -t are --threads; --dry-run loads no weights.
  for (const char* t : {"--engine-threads", "--threads", "-t"}) {
    const testing::CliRun s = run({"summarize", kClip, "-m", kDemo, t, "1", "--decoder-threads",
                                   "1", "--max-frames", "2", "--dry-run", "--json"});
    EXPECT_EQ(s.exit_code, 0) << t << "\n" << s.err;
  }
  // ask: --max-image-edge is --max-edge (a bad value of either is the same usage error).
  for (const char* e : {"--max-edge", "--max-image-edge"}) {
    const testing::CliRun a = run({"ask", "-m", kDemo, e, "500", "q"});
    EXPECT_EQ(a.exit_code, 2) << e << "\n" << a.err;
    EXPECT_TRUE(has(a.err, "--max-edge must be a multiple of 16")) << a.err;
  }
}

TEST(CliUsage, OutOfRangeValuesExit2NamingTheNearestValidValues) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"probe", kClip, "--max-edge", "500"}, "between 16 and 1024, got 500: try 496 or 512"},
           {{"probe", kClip, "--max-edge", "8"}, "got 8: try 16"},
           {{"probe", kClip, "--max-edge", "2000"}, "got 2000: try 1024"},
           {{"probe", kClip, "--max-edge", "big"}, "whole number of pixels"},
           {{"frames", kClip, "-o", "x", "--max-edge", "100"}, "try 96 or 112"},
           {{"summarize", kClip, "--max-edge", "500"}, "try 496 or 512"},
           {{"probe", kClip, "--fps", "0"}, "--fps: must be > 0 and <= 1000"},
           {{"probe", kClip, "--every", "0"}, "--every: must be >= 1"},
           {{"probe", kClip, "--scene", "2"}, "--scene: must be > 0 and <= 1"},
           {{"probe", kClip, "--max-frame-tokens", "0"}, "--max-frame-tokens: must be >= 1"},
           {{"probe", kClip, "--max-gap", "-1"}, "--max-gap: must be >= 0"},
           {{"probe", kClip, "--decoder-threads", "-2"}, "--decoder-threads"},
           {{"summarize", kClip, "-n", "0"}, "--max-tokens"},
           {{"summarize", kClip, "--top-p", "1.5"}, "--top-p"},
           {{"ask", "-m", kDemo, "-n", "0", "q"}, "--max-tokens"},
           {{"ask", "-m", kDemo, "-t", "-1", "q"}, "--threads"},
           {{"batch", "x.yaml", "-t", "5000"}, "--threads"},
           {{"bench", "engine", "-t", "-1"}, "--threads"},
       }) {
    const testing::CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[c.args.size() - 2] << "\n" << r.err;
    EXPECT_TRUE(has(r.err, c.message)) << "expected '" << c.message << "' in:\n" << r.err;
  }
}

TEST(CliUsage, TimesAreSecondsOrClockNotation) {
  auto plan = [](const std::string& start, const std::string& end) {
    return run({"probe", kClip, "--fps", "2", "--max-edge", "64", "--start", start, "--end", end,
                "--json"});
  };
  const testing::CliRun secs = plan("1.5", "3");
  ASSERT_EQ(secs.exit_code, 0) << secs.err;
  for (const auto& [start, end] : std::vector<std::pair<std::string, std::string>>{
           {"0:01.5", "0:03"}, {"00:00:01.500", "00:00:03"}, {"00:01.5", "3.000"}}) {
    const testing::CliRun clock = plan(start, end);
    ASSERT_EQ(clock.exit_code, 0) << start << " " << end << "\n" << clock.err;
    EXPECT_EQ(clock.out, secs.out) << start << " " << end;
  }
  // The times reached the plan: a different window plans differently.
  EXPECT_NE(plan("0", "3").out, secs.out);
  for (const char* bad : {"1:75", "-1", "1e3", "1::2", "1:2:3:4", "1.5:20", "abc", ""}) {
    const testing::CliRun r = run({"probe", kClip, "--start", bad});
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "'\n" << r.err;
    EXPECT_TRUE(has(r.err, "[HH:]MM:SS[.ms]")) << r.err;
  }
}

TEST(CliUsage, JobFileVocabularyAndItsOldKey) {
  const fs::path dir =
      fs::temp_directory_path() / ("fs-cli-usage-job-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto job = [&](const std::string& defaults_extra, const std::string& sampling) {
    const fs::path p = dir / "job.yaml";
    std::ofstream(p) << "version: 1\n"
                     << "batch: {out: \"" << (dir / "out").string() << "\"}\n"
                     << "defaults:\n"
                     << "  model: \"" << kDemo << "\"\n"
                     << defaults_extra << "  sampling: {" << sampling << "}\n"
                     << "jobs:\n"
                     << "  - name: clips\n"
                     << "    inputs: [\"" << kClip << "\"]\n";
    return run({"batch", "--check", p.string()});
  };
  const testing::CliRun ok = job("  threads: 1\n  generation: {top_p: 0.9, temperature: 0.5}\n",
                                 "fps: 1, start: \"0:01\", end: \"00:00:03.5\"");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(has(ok.err, "old name")) << ok.err;
  const testing::CliRun old = job("  engine_threads: 1\n", "fps: 1");
  EXPECT_EQ(old.exit_code, 0) << old.err;
  EXPECT_TRUE(has(old.err, "defaults.engine_threads: an old name")) << old.err;
  EXPECT_TRUE(has(old.err, "write defaults.threads")) << old.err;
  const testing::CliRun both = job("  threads: 1\n  engine_threads: 1\n", "fps: 1");
  EXPECT_EQ(both.exit_code, 1) << both.err;
  const testing::CliRun bad_time = job("", "start: \"1:75\"");
  EXPECT_EQ(bad_time.exit_code, 1) << bad_time.err;
  EXPECT_TRUE(has(bad_time.err, "sampling.start: expected seconds or [HH:]MM:SS[.ms]"))
      << bad_time.err;
  const testing::CliRun bad_top_p = job("  generation: {top_p: 2}\n", "fps: 1");
  EXPECT_EQ(bad_top_p.exit_code, 1) << bad_top_p.err;
  EXPECT_TRUE(has(bad_top_p.err, "generation.top_p")) << bad_top_p.err;
  fs::remove_all(dir);
}

// batch --check loads the model folder's config and tokenizer (never the weights) and lists each
// video with the settings it will run with.
TEST(CliUsage, BatchCheckLoadsTheModelFolderAndListsTheVideos) {
  const fs::path dir =
      fs::temp_directory_path() / ("fs-cli-usage-check-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "model");
  for (const char* f : {"config.json", "tekken.json", "framescribe.json"})
    fs::copy_file(fs::path(kDemo) / f, dir / "model" / f);
  const fs::path p = dir / "job.yaml";
  std::ofstream(p) << "version: 1\n"
                   << "batch: {out: \"" << (dir / "out").string() << "\"}\n"
                   << "defaults:\n"
                   << "  model: \"" << (dir / "model").string() << "\"\n"
                   << "  sampling: {every: 5, max_edge: 32}\n"
                   << "jobs:\n"
                   << "  - name: clips\n"
                   << "    inputs: [\"" << kClip << "\"]\n";
  const testing::CliRun ok = run({"batch", "--check", p.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;  // no model.safetensors: the weights are not read
  EXPECT_TRUE(has(ok.out, "config and tokenizer checked")) << ok.out;
  EXPECT_TRUE(has(ok.out, "shapes-demo.mp4 [clips]: every 5, max_edge 32")) << ok.out;
  // A model folder without its tokenizer fails the check, naming what is missing.
  fs::remove(dir / "model" / "tekken.json");
  const testing::CliRun bad = run({"batch", "--check", p.string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_TRUE(has(bad.err, "tokenizer") || has(bad.err, "tekken")) << bad.err;
  fs::remove_all(dir);
}

// "-" reads the video from standard input: a stream format or an mp4 with its index first; an
// mp4 with its index at the end says why it cannot be read from a pipe; batch refuses "-".
testing::CliRun run_with_stdin(const std::vector<std::string>& args, const fs::path& input) {
  const int saved = ::dup(0);
  const int fd = ::open(input.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << input;
  ::dup2(fd, 0);
  ::close(fd);
  testing::CliRun r = run(args);
  ::dup2(saved, 0);
  ::close(saved);
  return r;
}

TEST(CliUsage, StandardInputWhereTheFormatAllowsIt) {
  const fs::path dir =
      fs::temp_directory_path() / ("fs-cli-usage-stdin-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto remux = [&](const std::string& name, const std::string& options) {
    const std::string cmd = "ffmpeg -v error -y -i '" + kClip + "' -c copy " + options + " '" +
                            (dir / name).string() + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return dir / name;
  };
  const fs::path ts = remux("clip.ts", "-f mpegts");
  const fs::path fast = remux("fast.mp4", "-movflags +faststart");
  const fs::path late = remux("late.mp4", "");  // ffmpeg's default: the index after the data

  const std::vector<std::string> plan = {"probe", "--fps", "1", "--max-edge", "64", "--json"};
  std::vector<std::string> from_file = plan, from_stdin = plan;
  from_file.insert(from_file.begin() + 1, kClip);
  from_stdin.insert(from_stdin.begin() + 1, "-");
  const testing::CliRun want = run(from_file);
  ASSERT_EQ(want.exit_code, 0) << want.err;
  for (const fs::path& in : {ts, fast}) {
    const testing::CliRun r =
        run_with_stdin({"frames", "-", "--fps", "1", "--max-edge", "64", "-o",
                        (dir / ("frames-" + in.filename().string())).string()},
                       in);
    EXPECT_EQ(r.exit_code, 0) << in << "\n" << r.err;
    const auto want_frames = nlohmann::json::parse(want.out).at("plan").at("frames");
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir / ("frames-" + in.filename().string())))
      files += e.path().extension() != ".jsonl";
    EXPECT_EQ(static_cast<long long>(files), want_frames.get<long long>()) << in;
  }
  const testing::CliRun bad = run_with_stdin(from_stdin, late);
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_TRUE(has(bad.err, "index (moov) is at the end cannot be read from a pipe")) << bad.err;
  // The same file by name reads fine: only the pipe is the problem.
  std::vector<std::string> by_name = plan;
  by_name.insert(by_name.begin() + 1, late.string());
  EXPECT_EQ(run(by_name).exit_code, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace framescribe
