// The summaries job API over real HTTP with a real curl process, as users call it: submit, poll
// to done, fetch every output, events equal to `framescribe summarize` on the same clip and
// options; cancel; uploads; the errors (unknown id, a path outside --allow-path, bad JSON, ...).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "framescribe/http/server.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/video_jobs.h"
#include "serve/video_test_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class VideoJobsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = load_demo_host().release(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    scratch_ = scratch_dir("video-jobs");
    serve::ServeLimits limits;
    limits.allow_paths = {(fs::path(FS_SOURCE_DIR) / "samples").string()};
    serve::VideoJobOptions jo;
    jo.jobs_dir = scratch_ / "jobs";
    jo.max_upload_bytes = 4 << 20;
    jo.max_queued = 2;
    jobs_ = std::make_unique<serve::VideoJobs>(*host_, limits, jo);
    server_ = std::make_unique<http::Server>("127.0.0.1", 0);
    jobs_->add_routes(*server_);
    server_->start_api(http::ApiPolicy{});
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_.reset();
    jobs_.reset();
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  json submit(const json& request, int want_status = 202) {
    const CurlResult r =
        curl_json("POST", base_ + "/v1/videos/summaries", scratch_, request.dump());
    EXPECT_EQ(r.status, want_status) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json get(const std::string& id) {
    const CurlResult r = curl("GET", base_ + "/v1/videos/summaries/" + id, scratch_);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json wait_done(const std::string& id) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    json j;
    do {
      j = get(id);
      if (j.value("status", "") != "queued" && j.value("status", "") != "running") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < until);
    ADD_FAILURE() << "job " << id << " did not finish: " << j.dump();
    return j;
  }
  static std::vector<TimedText> events_of(const json& job) {
    std::vector<TimedText> out;
    for (const json& e : job.at("events"))
      out.push_back({e.at("start").get<double>(), e.at("end").get<double>(), e.at("text")});
    return out;
  }
  // Submits `request` on the sample clip, waits, fetches every file; returns the job.
  json run_and_compare(json request, const std::vector<std::string>& summarize_extra) {
    const fs::path clip = sample_clip();
    const std::vector<TimedText> want =
        summarize_events(clip, scratch_ / ("cli" + std::to_string(++runs_)), summarize_extra);
    EXPECT_FALSE(want.empty()) << "summarize described nothing";
    request["source"] = clip.string();
    const json accepted = submit(request);
    EXPECT_EQ(accepted.value("status", ""), "queued") << accepted.dump();
    const std::string id = accepted.value("id", "");
    const json done = wait_done(id);
    EXPECT_EQ(done.value("status", ""), "done") << done.dump();
    EXPECT_EQ(describe(events_of(done)), describe(want));
    EXPECT_EQ(done["progress"]["windows_done"], done["progress"]["windows_total"]);
    EXPECT_FALSE(done.value("summary", "").empty());
    // Every output, as a user downloads it: the JSONL's events are summarize's.
    const json& files = done.at("files");
    for (const char* f : {"jsonl", "srt", "vtt", "md", "html"}) {
      if (!files.contains(f)) {
        ADD_FAILURE() << "no " << f << " in " << files.dump();
        continue;
      }
      const CurlResult r = curl("GET", base_ + files[f].get<std::string>(), scratch_);
      EXPECT_EQ(r.status, 200) << f;
      EXPECT_FALSE(r.body.empty()) << f;
      const std::string kind = f;
      if (kind == "jsonl") {
        EXPECT_EQ(describe(jsonl_events(r.body)), describe(want));
      } else if (kind == "srt") {
        EXPECT_NE(r.body.find(" --> "), std::string::npos);
      } else if (kind == "vtt") {
        EXPECT_EQ(r.body.rfind("WEBVTT", 0), 0u);
      } else if (kind == "md" && !want.empty()) {
        EXPECT_NE(r.body.find(want.front().text), std::string::npos);
      } else if (kind == "html") {
        EXPECT_NE(r.body.find("class=\"event\""), std::string::npos);
        EXPECT_NE(r.headers.find("Content-Security-Policy"), std::string::npos);
      }
    }
    return done;
  }

  static serve::ModelHost* host_;
  fs::path scratch_;
  std::unique_ptr<serve::VideoJobs> jobs_;
  std::unique_ptr<http::Server> server_;
  std::string base_;
  int runs_ = 0;
};
serve::ModelHost* VideoJobsTest::host_ = nullptr;

// The C++ API under the routes, without HTTP: the same job as the first test below.
TEST_F(VideoJobsTest, DirectApi) {
  const json accepted = json::parse(jobs_->submit(json{{"source", sample_clip().string()}}.dump()));
  const std::string id = accepted.at("id");
  json j;
  for (int i = 0; i < 1200; ++i) {
    j = json::parse(jobs_->status(id));
    if (j["status"] != "queued" && j["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(j["status"], "done") << j.dump();
  EXPECT_EQ(describe(events_of(j)),
            describe(summarize_events(sample_clip(), scratch_ / "cli-direct")));
  EXPECT_TRUE(fs::is_regular_file(jobs_->file(id, "shapes-demo.html")));
  EXPECT_THROW(jobs_->file(id, "../" + id + "/shapes-demo.html"), serve::ApiError);
  EXPECT_THROW(jobs_->status("0123456789abcdef0123456789abcdef"), serve::ApiError);
}

TEST_F(VideoJobsTest, DefaultJobGivesSummarizesEvents) {
  run_and_compare(json::object(), {});
}

TEST_F(VideoJobsTest, WindowedJobGivesSummarizesEvents) {
  const json done = run_and_compare(
      {{"packing", {{"window_seconds", 4}}}, {"formats", {"jsonl", "srt", "vtt", "md", "html"}}},
      {"--window-seconds", "4"});
  EXPECT_GT(done["progress"]["windows_total"].get<int>(), 1) << done.dump();
}

TEST_F(VideoJobsTest, DeleteCancelsARunningJob) {
  // Hold the engine as a chat request would: the job's first window waits at the gate.
  auto lease = host_->gate.acquire();
  ASSERT_TRUE(lease.has_value());
  const json accepted = submit({{"source", sample_clip().string()}});
  const std::string id = accepted.value("id", "");
  json j;
  for (int i = 0; i < 200 && (j = get(id)).value("status", "") != "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(j.value("status", ""), "running") << j.dump();
  const CurlResult del = curl("DELETE", base_ + "/v1/videos/summaries/" + id, scratch_);
  EXPECT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(json::parse(del.body).value("status", ""), "cancelled") << del.body;
  lease.reset();
  const json after = wait_done(id);
  EXPECT_EQ(after.value("status", ""), "cancelled");
  EXPECT_EQ(after["progress"]["windows_done"], 0) << after.dump();
  // The engine is free again: a new job runs to the end.
  const json next = submit({{"source", sample_clip().string()}, {"formats", "jsonl"}});
  EXPECT_EQ(wait_done(next.value("id", "")).value("status", ""), "done");
}

// The server drains while a job waits for the engine: the job ends failed and says why, never
// "done" with its windows dropped. (Its own host: the gate stays closed.)
TEST_F(VideoJobsTest, DrainEndsAWaitingJobFailed) {
  auto host = load_demo_host();
  serve::ServeLimits limits;
  limits.allow_paths = {(fs::path(FS_SOURCE_DIR) / "samples").string()};
  serve::VideoJobs jobs(*host, limits, {.jobs_dir = scratch_ / "drain-jobs"});
  auto lease = host->gate.acquire();
  ASSERT_TRUE(lease.has_value());
  const std::string id =
      json::parse(jobs.submit(json{{"source", sample_clip().string()}}.dump()))["id"];
  json j;
  for (int i = 0; i < 200 && (j = json::parse(jobs.status(id)))["status"] != "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(j["status"], "running");
  host->gate.close();
  lease.reset();
  for (int i = 0; i < 500 && (j = json::parse(jobs.status(id)))["status"] == "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(j["status"], "failed") << j.dump();
  EXPECT_NE(j.value("error", "").find("shutting down"), std::string::npos) << j.dump();
  EXPECT_TRUE(j["events"].empty());
}

TEST_F(VideoJobsTest, UploadThenJob) {
  const CurlResult up = curl("POST", base_ + "/v1/videos/uploads?name=shapes-demo.mp4", scratch_,
                             sample_clip(), "application/octet-stream");
  ASSERT_EQ(up.status, 201) << up.body;
  const json u = json::parse(up.body);
  EXPECT_EQ(u["name"], "shapes-demo.mp4");
  EXPECT_EQ(u["bytes"].get<std::int64_t>(),
            static_cast<std::int64_t>(fs::file_size(sample_clip())));
  const json accepted = submit({{"source", u["source"]}, {"formats", "jsonl"}});
  const json done = wait_done(accepted.value("id", ""));
  EXPECT_EQ(done.value("status", ""), "done") << done.dump();
  const std::vector<TimedText> want = summarize_events(sample_clip(), scratch_ / "cli-up");
  EXPECT_EQ(describe(events_of(done)), describe(want));
  // A body larger than the upload limit: 413, nothing stored.
  const fs::path big = scratch_ / "big.bin";
  std::ofstream(big, std::ios::binary) << std::string((4 << 20) + 1, 'x');
  EXPECT_EQ(
      curl("POST", base_ + "/v1/videos/uploads", scratch_, big, "application/octet-stream").status,
      413);
}

// The other two kinds of source: an http URL (a loopback server with the clip) and a data URI.
TEST_F(VideoJobsTest, HttpUrlAndDataUriSources) {
  std::ifstream in(sample_clip(), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string clip = bytes.str();
  http::Server files("127.0.0.1", 0);
  files.get(R"(/clips/shapes-demo\.mp4)", [&clip](const http::Captures&) {
    http::Reply r;
    r.content_type = "video/mp4";
    r.body = clip;
    return r;
  });
  files.start();
  const std::string url =
      "http://127.0.0.1:" + std::to_string(files.port()) + "/clips/shapes-demo.mp4";
  const std::vector<TimedText> want = summarize_events(sample_clip(), scratch_ / "cli-http");
  const json job = wait_done(submit({{"source", url}, {"formats", "jsonl"}}).value("id", ""));
  EXPECT_EQ(job.value("status", ""), "done") << job.dump();
  EXPECT_EQ(describe(events_of(job)), describe(want));
  // The data URI: the clip's bytes in base64 (encoded by the base64 tool, not the server).
  const fs::path raw = scratch_ / "clip.mp4", b64 = scratch_ / "clip.b64";
  std::ofstream(raw, std::ios::binary) << clip;
  ASSERT_EQ(std::system(("base64 -w0 '" + raw.string() + "' > '" + b64.string() + "'").c_str()), 0);
  std::ifstream b(b64);
  std::ostringstream encoded;
  encoded << b.rdbuf();
  const json data_job = wait_done(
      submit({{"source", "data:video/mp4;base64," + encoded.str()}, {"formats", "jsonl,html"}})
          .value("id", ""));
  EXPECT_EQ(data_job.value("status", ""), "done") << data_job.dump();
  // (its events are not compared: the window prompt names the video, and this one has no name)
  EXPECT_FALSE(data_job["events"].empty()) << data_job.dump();
  EXPECT_EQ(data_job["files"].size(), 2u);
}

TEST_F(VideoJobsTest, BadRequestsAreAnsweredClearly) {
  auto error_of = [](const CurlResult& r) {
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : r.body;
  };
  // Unknown ids: a well-formed one and junk.
  CurlResult r =
      curl("GET", base_ + "/v1/videos/summaries/0123456789abcdef0123456789abcdef", scratch_);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(error_of(r).find("no video job"), std::string::npos) << r.body;
  EXPECT_EQ(curl("GET", base_ + "/v1/videos/summaries/..%2F..%2Fetc", scratch_).status, 404);
  EXPECT_EQ(curl("DELETE", base_ + "/v1/videos/summaries/nope", scratch_).status, 404);
  // Sources: outside --allow-path, a refused scheme, a missing file, an unknown upload.
  r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_, R"({"source": "/etc/passwd"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("allowed directory"), std::string::npos) << r.body;
  r = curl_json(
      "POST", base_ + "/v1/videos/summaries", scratch_,
      R"({"source": ")" + (fs::path(FS_SOURCE_DIR) / "samples/../README.md").string() + R"("})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_,
                R"({"source": "rtsp://cam/live"})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_,
                R"({"source": ")" + sample_clip("missing.mp4").string() + R"("})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_, R"({"source": "upload:0123"})");
  EXPECT_EQ(r.status, 400) << r.body;
  // Bodies: not JSON, not an object, wrong types, bad values.
  for (const std::string& body :
       std::vector<std::string>{"{not json", "[1,2]", R"({"source": 5})",
                                R"({"source": "x.mp4", "sampling": {"fps": "fast"}})",
                                R"({"source": "x.mp4", "sampling": {"fps": 0}})",
                                R"({"source": "x.mp4", "sampling": {"max_edge": 100}})",
                                R"({"source": "x.mp4", "formats": ["console"]})",
                                R"({"source": "x.mp4", "formats": ["pdf"]})",
                                R"({"source": "x.mp4", "packing": {"window_seconds": -1}})",
                                R"({"source": "x.mp4", "prompts": {"instruction": "{nope}"}})"}) {
    r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_FALSE(error_of(r).empty()) << body;
  }
  // A finished job's files: only those it wrote.
  const json accepted = submit({{"source", sample_clip().string()}, {"formats", "jsonl"}});
  const std::string id = accepted.value("id", "");
  ASSERT_EQ(wait_done(id).value("status", ""), "done");
  const std::string files = base_ + "/v1/videos/summaries/" + id + "/files/";
  EXPECT_EQ(curl("GET", files + "shapes-demo.jsonl", scratch_).status, 200);
  EXPECT_EQ(curl("GET", files + "shapes-demo.srt", scratch_).status, 404);
  EXPECT_EQ(curl("GET", files + "..%2F..%2Fuploads", scratch_).status, 404);
  EXPECT_EQ(curl("GET", files + "%2Fetc%2Fpasswd", scratch_).status, 404);
}

TEST_F(VideoJobsTest, FullQueueAnswers429) {
  auto lease = host_->gate.acquire();  // nothing runs: jobs pile up
  ASSERT_TRUE(lease.has_value());
  // The first job runs (waiting at the gate), two more may wait, the rest are refused.
  const std::string first = submit({{"source", sample_clip().string()}}).value("id", "");
  json j;
  for (int i = 0; i < 200 && (j = get(first)).value("status", "") != "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(j.value("status", ""), "running") << j.dump();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 4; ++i) {
    const CurlResult r = curl_json("POST", base_ + "/v1/videos/summaries", scratch_,
                                   json{{"source", sample_clip().string()}}.dump());
    accepted += r.status == 202;
    if (r.status == 429) {
      ++refused;
      EXPECT_NE(r.headers.find("Retry-After"), std::string::npos) << r.headers;
    }
  }
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(refused, 2);
  lease.reset();
}

TEST_F(VideoJobsTest, PageIsServedWithAStrictPolicy) {
  const CurlResult r = curl("GET", base_ + "/", scratch_);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("id=\"job-form\""), std::string::npos);
  EXPECT_NE(r.headers.find("Content-Security-Policy: default-src 'none'"), std::string::npos)
      << r.headers;
  EXPECT_EQ(r.body.find("http://"), std::string::npos) << "no external resources";
  EXPECT_EQ(r.body.find("https://"), r.body.find("https://example.org"));
  EXPECT_EQ(curl("GET", base_ + "/web/app.js", scratch_).status, 200);
  EXPECT_EQ(curl("GET", base_ + "/web/app.css", scratch_).status, 200);
}

}  // namespace
}  // namespace framescribe::testing
