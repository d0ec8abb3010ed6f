// Video jobs with serve --parallel N (issue 24): a job is a scheduler client of its own, so it
// runs while every chat slot is held (it never takes the gate), its windows are batched with
// chat requests that run meanwhile, and its events stay those of `framescribe summarize`; the
// chat answers given meanwhile equal those given alone; a draining server ends the job failed.
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "framescribe/serve/api_server.h"
#include "framescribe/serve/video_jobs.h"
#include "serve/serve_test_support.h"
#include "serve/video_test_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

json job_status(serve::VideoJobs& jobs, const std::string& id) {
  return json::parse(jobs.status(id));
}

json wait_finished(serve::VideoJobs& jobs, const std::string& id) {
  json j;
  const auto end = std::chrono::steady_clock::now() + 120s;
  do {
    j = job_status(jobs, id);
    if (j["status"] != "queued" && j["status"] != "running") return j;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < end);
  ADD_FAILURE() << "job " << id << " did not finish: " << j.dump();
  return j;
}

std::vector<TimedText> events_of(const json& job) {
  std::vector<TimedText> out;
  for (const json& e : job.at("events"))
    out.push_back({e.at("start").get<double>(), e.at("end").get<double>(), e.at("text")});
  return out;
}

class VideoParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = scratch_dir("video-parallel");
    limits_.allow_paths = {(fs::path(FS_SOURCE_DIR) / "samples").string()};
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  fs::path scratch_;
  serve::ServeLimits limits_;
};

TEST_F(VideoParallelTest, AJobRunsBesideChatsOnItsOwnClient) {
  const std::vector<TimedText> want = summarize_events(sample_clip(), scratch_ / "cli");
  ASSERT_FALSE(want.empty());
  serve::testing::TestServer t = serve::testing::start_server(load_demo_host(2));
  ASSERT_TRUE(t.host->batched());
  serve::VideoJobs jobs(*t.host, limits_, {.jobs_dir = scratch_ / "jobs"});

  // Every chat slot held: the job still runs to its end (it never waits at the gate).
  {
    auto a = t.host->gate.acquire();
    auto b = t.host->gate.acquire();
    ASSERT_TRUE(a && b);
    const std::string id =
        json::parse(jobs.submit(json{{"source", sample_clip().string()}}.dump()))["id"];
    const json done = wait_finished(jobs, id);
    ASSERT_EQ(done["status"], "done") << done.dump();
    EXPECT_EQ(describe(events_of(done)), describe(want));
  }

  // Chats while a job runs: the same answers as alone, the job's events unchanged.
  const json chat = {{"model", "framescribe-demo"},
                     {"max_tokens", 24},
                     {"messages",
                      {{{"role", "user"},
                        {"content",
                         {{{"type", "image_url"},
                           {"image_url", {{"url", serve::testing::sample_frame_data_uri(1.0)}}}},
                          {{"type", "text"}, {"text", "What happens?"}}}}}}}};
  httplib::Client c("127.0.0.1", t.port());
  c.set_read_timeout(120, 0);
  auto alone = c.Post("/v1/chat/completions", chat.dump(), "application/json");
  ASSERT_TRUE(alone);
  ASSERT_EQ(alone->status, 200) << alone->body;
  const json want_chat = json::parse(alone->body);
  // A longer job (more frames, more windows, longer answers), so that chats surely run while it
  // does; its events alone first.
  const json heavy = {
      {"source", sample_clip().string()}, {"fps", 5}, {"window_seconds", 2}, {"max_tokens", 48}};
  const json heavy_alone =
      wait_finished(jobs, json::parse(jobs.submit(heavy.dump()))["id"].get<std::string>());
  ASSERT_EQ(heavy_alone["status"], "done") << heavy_alone.dump();
  const std::int64_t steps_before = t.host->scheduler_stats()->steps;
  const std::string id = json::parse(jobs.submit(heavy.dump()))["id"];
  int during = 0;  // chat answers given while the job was running
  for (int k = 0; k < 200; ++k) {
    const bool running_before = job_status(jobs, id)["status"] == "running";
    auto r = c.Post("/v1/chat/completions", chat.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json got = json::parse(r->body);
    EXPECT_EQ(got["choices"][0]["message"]["content"],
              want_chat["choices"][0]["message"]["content"]);
    EXPECT_EQ(got["usage"], want_chat["usage"]);
    const json st = job_status(jobs, id);
    if (running_before && st["status"] == "running") ++during;
    if (st["status"] != "queued" && st["status"] != "running") break;
  }
  const json done = wait_finished(jobs, id);
  ASSERT_EQ(done["status"], "done") << done.dump();
  EXPECT_EQ(describe(events_of(done)), describe(events_of(heavy_alone)));
  EXPECT_GT(during, 0) << "no chat answered while the job ran";
  EXPECT_GT(t.host->scheduler_stats()->steps, steps_before);
  EXPECT_EQ(t.host->gate.running(), 0);
}

// The server drains: a job submitted then ends failed and says why (its windows never run).
TEST_F(VideoParallelTest, DrainEndsAJobFailed) {
  auto host = load_demo_host(2);
  serve::VideoJobs jobs(*host, limits_, {.jobs_dir = scratch_ / "drain-jobs"});
  host->gate.close();
  const std::string id =
      json::parse(jobs.submit(json{{"source", sample_clip().string()}}.dump()))["id"];
  const json j = wait_finished(jobs, id);
  EXPECT_EQ(j["status"], "failed") << j.dump();
  EXPECT_NE(j.value("error", "").find("shutting down"), std::string::npos) << j.dump();
  EXPECT_TRUE(j["events"].empty());
}

}  // namespace
}  // namespace framescribe::testing
