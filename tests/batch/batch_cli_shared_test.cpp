// `framescribe batch --parallel N` on one model (issue 24), end to end with the demo model on
// the bundled sample clips (four videos: both clips and a copy of each): the parallel workers'
// window engines batched step by step (the default, and with tiny steps that split every
// prefill), shared one call at a time (--step-tokens 0) and one video at a time (--parallel 1)
// write the same files, byte for byte, and the same search index events.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_run.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

const fs::path kSamples = fs::path(FS_SOURCE_DIR) / "samples";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The output files of a run (relative path -> bytes); the state and index are left out.
std::map<std::string, std::string> outputs(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() != ".sqlite" &&
        e.path().string().find(".sqlite-") == std::string::npos)
      out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

// (video, start, end, text) of every event in the search index, sorted.
std::vector<std::string> events(const fs::path& index) {
  std::vector<std::string> rows;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(index.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    ADD_FAILURE() << index << ": cannot open";
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  const char* sql = "SELECT video, start_ns, end_ns, text FROM events ORDER BY 1, 2, 3, 4";
  if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << index << ": " << sqlite3_errmsg(h);
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < 4; ++c) {
        const unsigned char* t = sqlite3_column_text(st, c);
        row += (t != nullptr ? reinterpret_cast<const char*>(t) : "") + std::string("\t");
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

TEST(BatchShared, ParallelBatchedWorkersWriteWhatOneVideoAtATimeWrites) {
  testing::TempDir dir;
  const fs::path inputs = dir / "in";
  fs::create_directories(inputs);
  fs::copy_file(kSamples / "shapes-demo.mp4", inputs / "a-demo.mp4");
  fs::copy_file(kSamples / "shapes-three.mp4", inputs / "b-three.mp4");
  fs::copy_file(kSamples / "shapes-demo.mp4", inputs / "c-demo.mp4");
  fs::copy_file(kSamples / "shapes-three.mp4", inputs / "d-three.mp4");
  const fs::path model = kSamples / "models" / "framescribe-demo";
  auto job = [&](const std::string& name) {
    const fs::path p = dir / (name + ".yaml");
    std::ofstream(p) << "version: 1\n"
                     << "batch: {parallel: 1, out: \"" << (dir / name).string() << "\"}\n"
                     << "defaults:\n"
                     << "  model: \"" << model.string() << "\"\n"
                     << "  threads: 1\n"
                     << "  outputs: {formats: [jsonl, srt, vtt], layout: \"{out}/{job}/{stem}\"}\n"
                     << "jobs:\n"
                     << "  - name: clips\n"
                     << "    inputs: [\"" << (inputs / "*.mp4").string() << "\"]\n";
    return p;
  };
  struct Run {
    std::string name;
    std::vector<std::string> args;
  };
  const std::vector<Run> runs = {
      {"one-video-at-a-time", {"--parallel", "1", "--step-tokens", "0"}},
      {"parallel-one-call-at-a-time", {"--parallel", "3", "--step-tokens", "0"}},
      {"parallel-batched", {"--parallel", "3"}},
      {"parallel-small-steps", {"--parallel", "4", "--step-tokens", "5"}},
  };
  std::map<std::string, std::string> first;
  std::vector<std::string> first_events;
  for (const Run& r : runs) {
    std::vector<std::string> args = {"-v", "batch", job(r.name).string()};
    args.insert(args.end(), r.args.begin(), r.args.end());
    const testing::CliRun run = testing::run_framescribe(args, dir / "stderr.txt");
    ASSERT_EQ(run.exit_code, 0) << r.name << "\n" << run.err;
    const bool batched = r.args.back() != "0";
    EXPECT_EQ(run.err.find("scheduler ") != std::string::npos, batched) << r.name << run.err;
    // Paths inside the files name the inputs (the same for every run), not the output folder.
    const std::map<std::string, std::string> files = outputs(dir / r.name);
    const std::vector<std::string> ev = events(dir / r.name / "index.sqlite");
    if (first.empty()) {
      ASSERT_EQ(files.size(), 12u);  // 4 videos x 3 formats
      for (const auto& [f, bytes] : files) EXPECT_FALSE(bytes.empty()) << f;
      ASSERT_FALSE(ev.empty());
      // A copy of a clip is described as the clip is.
      EXPECT_EQ(files.at("clips/a-demo/a-demo.srt"), files.at("clips/c-demo/c-demo.srt"));
      EXPECT_EQ(files.at("clips/b-three/b-three.vtt"), files.at("clips/d-three/d-three.vtt"));
      first = files;
      first_events = ev;
      continue;
    }
    ASSERT_EQ(files.size(), first.size()) << r.name;
    for (const auto& [f, bytes] : first) {
      ASSERT_TRUE(files.count(f)) << r.name << ": " << f;
      EXPECT_EQ(files.at(f), bytes) << r.name << ": " << f;
    }
    EXPECT_EQ(ev, first_events) << r.name;
  }
}

}  // namespace
}  // namespace framescribe
