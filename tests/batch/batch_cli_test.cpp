// `framescribe batch` and `framescribe search` end to end (label integration), with fixture A's
// tiny model (random weights, greedy: deterministic) on generated clips:
// - `batch --check` gives one message with file:line:column and key path for each malformed
//   job file, and exit 1;
// - 30 clips run as 3 shards in 3 processes at once: each clip is processed exactly once, and
//   after `batch merge` the index holds the same events as one unsharded run;
// - runs killed with SIGKILL at random moments, each followed by a rerun, end with outputs
//   identical to an uninterrupted run, no temporary or missing file, and a state file that
//   passes PRAGMA integrity_check after every kill;
// - progress: "1 already done, 2 to run", then percentages and an ETA; --quiet: none.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "apps/tiny_model.h"
#include "batch/malformed_jobs.h"
#include "decoder/video_clips.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Rows of a query, each row's columns joined by '\t'.
std::vector<std::string> query(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(h);
    ADD_FAILURE() << db << ": cannot open";
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << db << ": " << sqlite3_errmsg(h);
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        if (c > 0) row.push_back('\t');
        if (t != nullptr) row.append(reinterpret_cast<const char*>(t));
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

class Batch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new fs::path(testing::make_tiny_model(dir() / "model"));
    for (int k = 0; k < 3; ++k) {
      std::string error;
      const auto p = testing::make_clip("base" + std::to_string(k) + ".mp4",
                                        "-f lavfi -i testsrc2=size=160x96:rate=10 -t " +
                                            std::to_string(2 + k) +
                                            " -c:v libx264 -preset ultrafast -pix_fmt yuv420p",
                                        &error);
      ASSERT_TRUE(p.has_value()) << error;
      bases_.push_back(*p);
    }
  }
  static const fs::path& dir() {
    static testing::TempDir d;
    return d.path();
  }
  // `n` clips (copies of three generated ones) in dir()/<name>/.
  static fs::path clips(const std::string& name, int n) {
    const fs::path d = dir() / name;
    fs::create_directories(d);
    for (int i = 0; i < n; ++i) {
      char file[32];
      std::snprintf(file, sizeof file, "clip%02d.mp4", i);
      fs::copy_file(bases_[static_cast<std::size_t>(i % 3)], d / file,
                    fs::copy_options::skip_existing);
    }
    return d;
  }
  // A job file over the clips in `inputs`, writing under `out`.
  static fs::path job(const std::string& name, const fs::path& inputs, const fs::path& out) {
    const fs::path p = dir() / (name + ".yaml");
    std::ofstream(p) << "version: 1\n"
                     << "batch: {parallel: 2, max_attempts: 2, out: \"" << out.string() << "\"}\n"
                     << "defaults:\n"
                     << "  model: \"" << model_->string() << "\"\n"
                     << "  engine_threads: 1\n"
                     << "  sampling: {fps: 1, max_edge: 64}\n"
                     << "  generation: {max_tokens: 4}\n"
                     << "  packing: {max_frames_per_window: 2}\n"
                     << "  prompts: {make_summary: false}\n"
                     << "  outputs: {formats: [jsonl, srt], layout: \"{out}/{job}/{stem}\"}\n"
                     << "jobs:\n"
                     << "  - name: clips\n"
                     << "    inputs: [\"" << (inputs / "*.mp4").string() << "\"]\n";
    return p;
  }
  static testing::CliRun run(const std::vector<std::string>& args) {
    return testing::run_framescribe(args, dir() / "stderr.txt");
  }
  // (video, start, end, text) of every event of an index, sorted.
  static std::vector<std::string> events(const fs::path& index) {
    std::vector<std::string> rows = query(
        index, "SELECT video, start_ns, end_ns, text FROM events ORDER BY video, start_ns, text");
    std::sort(rows.begin(), rows.end());
    return rows;
  }
  static fs::path* model_;
  static std::vector<fs::path> bases_;
};
fs::path* Batch::model_ = nullptr;
std::vector<fs::path> Batch::bases_;

TEST_F(Batch, CheckGivesOneMessageWithLineColumnAndKeyPath) {
  int n = 0;
  for (const testing::MalformedJob& c : testing::malformed_jobs()) {
    const fs::path d = dir() / "check" / c.name;
    fs::create_directories(d / "sub");
    fs::create_directories(d / "clips");
    std::ofstream(d / "video.mp4") << "x";
    std::ofstream(d / "sub/video.mp4") << "x";
    std::ofstream(d / "clips/a.mp4") << "x";
    std::ofstream(d / "job.yaml") << c.yaml;
    const testing::CliRun r = run({"batch", "--check", (d / "job.yaml").string()});
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.err;
    const std::string where = (d / "job.yaml").string() + ":" + std::to_string(c.line) + ":" +
                              std::to_string(c.column) + ": " + c.key_path + ": ";
    EXPECT_NE(r.err.find(where), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    ++n;
  }
  EXPECT_GE(n, 20);
  const fs::path good = job("good", clips("check-clips", 2), dir() / "unused");
  const testing::CliRun ok = run({"batch", "--check", good.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok: 1 jobs, 2 videos"), std::string::npos) << ok.out;
}

TEST_F(Batch, ShardsRunEachClipOnceAndMergeToTheUnshardedEvents) {
  const fs::path in = clips("thirty", 30);
  const fs::path one = job("unsharded", in, dir() / "out-one");
  const fs::path sharded = job("sharded", in, dir() / "out-sharded");

  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i)
    pids.push_back(testing::spawn_framescribe(
        {"batch", sharded.string(), "--shard", std::to_string(i) + "/3", "--quiet"},
        dir() / ("shard" + std::to_string(i) + ".log")));
  const testing::CliRun whole = run({"batch", one.string()});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  // One progress display for the whole batch: a line per finished video, then the tally.
  EXPECT_NE(whole.err.find("videos 30/30 done (0 earlier), 0 failed, 0 running"), std::string::npos)
      << whole.err;
  if (std::getenv("FS_SHOW_OUTPUT") != nullptr) std::printf("%s\n", whole.err.c_str());
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(testing::wait_framescribe(pids[static_cast<std::size_t>(i)]), 0)
        << slurp(dir() / ("shard" + std::to_string(i) + ".log"));

  // Each clip in exactly one shard, done there on the first attempt.
  std::map<std::string, int> owner;
  for (int i = 0; i < 3; ++i) {
    const fs::path st =
        dir() / "out-sharded" / ("state-shard-" + std::to_string(i) + "-of-3.sqlite");
    for (const std::string& row : query(st, "SELECT identity, status, attempts FROM videos")) {
      EXPECT_TRUE(row.ends_with("\tdone\t0")) << row;
      EXPECT_TRUE(owner.emplace(row.substr(0, row.find('\t')), i).second) << row;
    }
  }
  EXPECT_EQ(owner.size(), 30u);

  const testing::CliRun merged = run({"batch", "merge", sharded.string()});
  ASSERT_EQ(merged.exit_code, 0) << merged.err << merged.out;
  EXPECT_NE(merged.out.find("30 done, 0 failed, 0 not done"), std::string::npos) << merged.out;
  if (std::getenv("FS_SHOW_OUTPUT") != nullptr) std::printf("%s\n", merged.out.c_str());
  EXPECT_EQ(query(dir() / "out-sharded/state.sqlite",
                  "SELECT count(*) FROM videos WHERE status = 'done'"),
            std::vector<std::string>{"30"});
  const std::vector<std::string> want = events(dir() / "out-one/index.sqlite");
  EXPECT_GE(want.size(), 30u);
  EXPECT_EQ(events(dir() / "out-sharded/index.sqlite"), want);
  // The output files are the same too.
  EXPECT_EQ(files_under(dir() / "out-sharded/clips"), files_under(dir() / "out-one/clips"));

  // search on the merged index: JSON output, nothing for a word no event has.
  const testing::CliRun none =
      run({"search", (dir() / "out-sharded/index.sqlite").string(), "zzqqxxnotthere", "--json"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(none.out), nlohmann::json::array());
}

// `framescribe search` on an index whose events are known (written here with the schema that
// sinks/search_index.h documents): text and JSON output, --video, highlighted snippets, exit codes.
TEST_F(Batch, SearchPrintsMatchingEventsWithTimesAndSnippets) {
  const fs::path db = dir() / "known-index.sqlite";
  fs::remove(db);
  query(db,
        "CREATE VIRTUAL TABLE events USING fts5(text, video UNINDEXED, job UNINDEXED, "
        "start_ns UNINDEXED, end_ns UNINDEXED, window_id UNINDEXED)");
  query(db,
        "INSERT INTO events VALUES "
        "('a red car turns left', 'a.mp4', 'j', 5000000000, 12000000000, 0),"
        "('a dog crosses the road', 'a.mp4', 'j', 12000000000, 15000000000, 1),"
        "('the red car parks', 'b.mp4', 'j', 65000000000, 70500000000, 3)");
  const testing::CliRun text = run({"search", db.string(), "red car"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "a.mp4  [00:05.0 - 00:12.0]  a [red] [car] turns left\n"
            "b.mp4  [01:05.0 - 01:10.5]  the [red] [car] parks\n");
  const testing::CliRun js = run({"search", db.string(), "red", "--video", "b.mp4", "--json"});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const nlohmann::json hits = nlohmann::json::parse(js.out);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["video"], "b.mp4");
  EXPECT_DOUBLE_EQ(hits[0]["start"].get<double>(), 65.0);
  EXPECT_DOUBLE_EQ(hits[0]["end"].get<double>(), 70.5);
  EXPECT_EQ(hits[0]["window"], 3);
  EXPECT_EQ(hits[0]["text"], "the red car parks");
  EXPECT_EQ(hits[0]["snippet"], "the [red] car parks");
  EXPECT_EQ(run({"search", db.string(), "giraffe"}).exit_code, 1);
  const testing::CliRun bad = run({"search", db.string(), "\"unclosed", "--fts"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("FTS5 syntax"), std::string::npos) << bad.err;
  EXPECT_EQ(run({"search", (dir() / "missing.sqlite").string(), "red"}).exit_code, 1);
}

// Progress on a stderr that is not a terminal: first what is done and what is left, then lines
// with the videos in progress, their percentage and an ETA for the batch (every
// FRAMESCRIBE_PROGRESS_INTERVAL seconds: 0 here, every update); --quiet prints none of it.
TEST_F(Batch, ProgressSaysWhatIsLeftWithPercentagesAndAnEta) {
  const fs::path in = clips("progress", 1);
  const fs::path j = job("progress", in, dir() / "out-progress");
  const testing::CliRun before = run({"batch", j.string(), "--quiet"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  clips("progress", 3);  // two more: 3 s and 4 s

  ::setenv("FRAMESCRIBE_PROGRESS_INTERVAL", "0", 1);
  const testing::CliRun r = run({"batch", j.string()});
  ::unsetenv("FRAMESCRIBE_PROGRESS_INTERVAL");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (std::getenv("FS_SHOW_OUTPUT") != nullptr) std::printf("%s\n", r.err.c_str());
  EXPECT_NE(r.err.find("1 already done, 2 to run\n"), std::string::npos) << r.err;
  const std::regex progress(R"(running: clip0[12]\.mp4 \d+%.*; [0-9.]+ s, ETA [0-9.]+ s)");
  int lines = 0;
  std::istringstream ss(r.err);
  for (std::string line; std::getline(ss, line);)
    if (std::regex_search(line, progress)) ++lines;
  EXPECT_GE(lines, 1) << r.err;
  EXPECT_NE(r.err.find("videos 3/3 done (1 earlier), 0 failed, 0 running"), std::string::npos)
      << r.err;

  ::setenv("FRAMESCRIBE_PROGRESS_INTERVAL", "0", 1);
  const testing::CliRun quiet =
      run({"batch", job("progress-quiet", in, dir() / "out-progress-quiet").string(), "--quiet"});
  ::unsetenv("FRAMESCRIBE_PROGRESS_INTERVAL");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("to run"), std::string::npos) << quiet.err;
  EXPECT_EQ(quiet.err.find("%"), std::string::npos) << quiet.err;
  EXPECT_EQ(quiet.err.find("ETA"), std::string::npos) << quiet.err;
  EXPECT_EQ(quiet.err.find("videos "), std::string::npos) << quiet.err;
}

TEST_F(Batch, KilledRunsResumeToIdenticalOutputs) {
  const fs::path in = clips("killed", 4);
  const fs::path ref_job = job("reference", in, dir() / "out-ref");
  const Clock::time_point t0 = Clock::now();
  const testing::CliRun ref = run({"batch", ref_job.string(), "--quiet"});
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const double full_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const std::map<std::string, std::string> want = files_under(dir() / "out-ref/clips");
  ASSERT_EQ(want.size(), 8u);  // 4 clips x (jsonl, srt)
  const std::vector<std::string> want_events = events(dir() / "out-ref/index.sqlite");

  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> when(0.25 * full_ms, full_ms);  // after start-up
  int interrupted = 0;  // kills that left videos not done (the state file existed)
  for (int k = 0; k < 20; ++k) {
    const fs::path out = dir() / ("out-kill" + std::to_string(k));
    const fs::path j = job("kill" + std::to_string(k), in, out);
    const pid_t pid =
        testing::spawn_framescribe({"batch", j.string(), "--quiet"}, dir() / "kill.log");
    const double at = when(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(at * 1000)));
    ::kill(pid, SIGKILL);
    testing::wait_framescribe(pid);
    if (fs::exists(out / "state.sqlite") &&
        query(out / "state.sqlite", "SELECT count(*) FROM sqlite_master WHERE name = 'videos'") ==
            std::vector<std::string>{"1"}) {
      const auto done =
          query(out / "state.sqlite", "SELECT count(*) FROM videos WHERE status = 'done'");
      if (!done.empty() && done[0] != "4") ++interrupted;
      EXPECT_EQ(query(out / "state.sqlite", "PRAGMA integrity_check"),
                std::vector<std::string>{"ok"})
          << "after a kill at " << at << " ms";
    }
    const testing::CliRun again = run({"batch", j.string(), "--quiet"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(query(out / "state.sqlite", "PRAGMA integrity_check"),
              std::vector<std::string>{"ok"});
    EXPECT_EQ(query(out / "state.sqlite", "SELECT count(*) FROM videos WHERE status = 'done'"),
              std::vector<std::string>{"4"});
    // Identical files, none missing, none extra (no temporary left), none partial.
    EXPECT_EQ(files_under(out / "clips"), want) << "kill " << k << " at " << at << " ms";
    EXPECT_EQ(events(out / "index.sqlite"), want_events) << "kill " << k << " at " << at << " ms";
  }
  // The kills fell while videos were in progress, not only before or after the run.
  EXPECT_GE(interrupted, 4);
  std::printf("%d of 20 kills interrupted videos in progress\n", interrupted);
}

}  // namespace
}  // namespace framescribe
