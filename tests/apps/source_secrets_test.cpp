// Credentials in video URLs never leave the process (label integration): the built binary reads
// a clip from a loopback HTTP server through a URL with a password in its user-info and a token
// in its query string, via probe --json, frames, summarize --out (every format, the bundled
// demo model) and a batch job (YAML input and manifest lines, state file, search index,
// outputs), plus URLs that fail (404, connection refused) so that error messages are covered
// too. Every byte the runs print or write - stdout, stderr, every file and every file name,
// the SQLite files included - is searched for the two secrets.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_run.h"
#include "decoder/image_test_util.h"
#include "decoder/video_clips.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPassword = "pw7Hq2Secret";
constexpr const char* kToken = "tokZ81Secret";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SourceSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    const auto clip = testing::make_clip(
        "secret-src.ts", "-f lavfi -i testsrc=size=160x96:rate=10 -t 2 -c:v mpeg2video", &error);
    ASSERT_TRUE(clip) << error;
    clip_ = slurp(*clip);
    http_.server().Get(R"(/clips/(talk|other)\.mp4)",
                       [this](const httplib::Request&, httplib::Response& res) {
                         res.set_content(clip_, "video/mp2t");
                       });
    http_.start();
  }
  // http://user:<password>@127.0.0.1:PORT<path>?token=<token>&<query>
  std::string secret_url(const std::string& path, const std::string& extra = "") const {
    return "http://viewer:" + std::string(kPassword) +
           "@127.0.0.1:" + std::to_string(http_.port()) + path + "?token=" + kToken + extra;
  }
  testing::CliRun run(const std::vector<std::string>& args) {
    testing::CliRun r = testing::run_framescribe(args, dir_ / "stderr.txt");
    seen_ += "\n--- " + args[0] + " stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
    return r;
  }
  // Every file under `root`: its path (the name counts) and its bytes.
  void collect(const fs::path& root) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      seen_ += "\n--- " + e.path().string() + " ---\n";
      if (e.is_regular_file()) seen_ += slurp(e.path());
    }
  }
  // Fails naming where each secret appears (the file or run before it, and the text around).
  void expect_no_secret(const char* what) {
    for (const char* secret : {kPassword, kToken}) {
      for (std::size_t at = seen_.find(secret); at != std::string::npos;
           at = seen_.find(secret, at + 1)) {
        const std::size_t header = seen_.rfind("\n--- ", at);
        ADD_FAILURE() << what << ": '" << secret << "' in "
                      << seen_.substr(header, seen_.find('\n', header + 1) - header) << ": ..."
                      << seen_.substr(at < 120 ? 0 : at - 120, 240) << "...";
      }
    }
  }

  testing::TempDir dir_;
  testing::LocalHttpServer http_;
  std::string clip_;
  std::string seen_;
};

TEST_F(SourceSecrets, ProbeFramesAndSummarizeNeverShowThem) {
  const std::string url = secret_url("/clips/talk.mp4");
  testing::CliRun r = run({"probe", url, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("127.0.0.1"), std::string::npos) << r.out;  // the video is named ...
  EXPECT_NE(r.out.find("token=***"), std::string::npos) << r.out;  // ... redacted
  r = run({"probe", url});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = run({"frames", url, "--fps", "1", "--max-edge", "64", "--out", (dir_ / "frames").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const fs::path out = dir_ / "summaries";
  r = run({"summarize", url, "--out", out.string(), "--format", "console,jsonl,srt,vtt,md,html"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* ext : {".jsonl", ".srt", ".vtt", ".md", ".html"})
    EXPECT_TRUE(fs::exists(out / (std::string("talk") + ext))) << ext;  // named by source_stem

  // Failing URLs: a 404 and a refused connection, each with both secrets.
  r = run({"summarize", secret_url("/clips/missing.mp4"), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.mp4"), std::string::npos) << r.err;
  r = run(
      {"probe", "http://viewer:" + std::string(kPassword) + "@127.0.0.1:1/x.mp4?token=" + kToken});
  EXPECT_EQ(r.exit_code, 1);
  r = run({"frames", secret_url("/clips/missing.mp4"), "--out", (dir_ / "f404").string()});
  EXPECT_EQ(r.exit_code, 1);
  r = run({"summarize", url, "--dry-run", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run({"-v", "summarize", url, "--out", (dir_ / "verbose").string()});  // FFmpeg's lines too
  EXPECT_EQ(r.exit_code, 0) << r.err;
  collect(dir_.path());
  expect_no_secret("probe/frames/summarize");
}

TEST_F(SourceSecrets, BatchStateOutputsAndProgressNeverHoldThem) {
  const fs::path out = dir_ / "batch-out";
  // The job file and the manifest (which hold the secrets) live outside the searched folder.
  testing::TempDir inputs;
  std::ofstream(inputs / "list.txt") << "# from a manifest\n"
                                     << secret_url("/clips/other.mp4", "&part=2") << "\n"
                                     << secret_url("/clips/missing.mp4") << "\n";
  const fs::path job = inputs / "job.yaml";
  std::ofstream(job) << "version: 1\n"
                     << "batch: {parallel: 1, max_attempts: 1, out: \"" << out.string() << "\"}\n"
                     << "defaults:\n"
                     << "  model: \"" << FS_SOURCE_DIR << "/samples/models/framescribe-demo\"\n"
                     << "  engine_threads: 1\n"
                     << "  outputs: {formats: [jsonl, srt, vtt, md, html]}\n"
                     << "jobs:\n"
                     << "  - name: web\n"
                     << "    inputs: [\"" << secret_url("/clips/talk.mp4") << "\", "
                     << "{manifest: list.txt}]\n";
  testing::CliRun r = run({"batch", job.string(), "--check"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run({"batch", job.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the missing clip failed; the others are done
  EXPECT_NE(r.err.find("missing.mp4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other.mp4?token=***&part=***"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(out / "state.sqlite"));
  EXPECT_TRUE(fs::exists(out / "web" / "talk" / "talk.jsonl"));
  EXPECT_TRUE(fs::exists(out / "web" / "other" / "other.html"));
  r = run({"batch", job.string()});  // a rerun: skips, reports the failure again
  r = run({"search", (out / "index.sqlite").string(), "a", "--json"});
  collect(dir_.path());
  expect_no_secret("batch");
}

}  // namespace
}  // namespace framescribe
