// video_url parts give what `framescribe summarize` gives: the demo model, the sample clip, the
// video part then summarize's window instruction as the text; the answer's events (parsed by
// the pipeline's parser over the clip's span) equal summarize's JSONL events. Through
// ChatService, and through POST /v1/chat/completions with curl (the job routes on the same
// ApiServer as `framescribe serve` wires them); with one engine and with --parallel 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "framescribe/pipeline/events.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/coster.h"
#include "framescribe/serve/api_server.h"
#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/video_jobs.h"
#include "framescribe/serve/video_part.h"
#include "serve/video_test_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Parameter: the server's --parallel (1: one engine; 2: slots on the step scheduler, the job a
// scheduler client of its own).
class VideoUrlTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    host_ = load_demo_host(GetParam());
    ASSERT_EQ(host_->batched(), GetParam() > 1);
    scratch_ = scratch_dir("video-url");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  serve::ServeLimits limits() const {
    serve::ServeLimits l;
    l.allow_paths = {(fs::path(FS_SOURCE_DIR) / "samples").string()};
    return l;
  }
  // summarize's one window over the clip: its instruction (the packer's, default template,
  // the video's file name) and its span; from the frames the expander samples.
  struct Window {
    std::string instruction;
    pipeline::WindowSpan span;
  };
  Window summarize_window(const fs::path& clip) {
    serve::RequestPart p;
    p.kind = serve::RequestPart::Kind::kVideo;
    p.source = clip.string();
    p.where = "probe";
    const serve::VideoFrames v = serve::make_video_expander(*host_, limits())(p, {});
    EXPECT_FALSE(v.pts_ns.empty());
    pixtral::PixtralCoster coster(host_->config, *host_->tokenizer, "", host_->context_tokens);
    pipeline::PackingOptions po;
    po.answer_reserve_tokens = host_->default_max_tokens;
    po.video_name = clip.filename().string();
    const pipeline::WindowPacker packer(po, coster);
    Window w;
    w.instruction = packer.instruction(v.pts_ns.front(), v.pts_ns.back(),
                                       static_cast<std::int64_t>(v.pts_ns.size()));
    w.span = {0, v.pts_ns.front(), std::llround(v.duration_s * 1e9)};
    return w;
  }
  static std::vector<TimedText> events_of_answer(const std::string& answer,
                                                 const pipeline::WindowSpan& span) {
    std::vector<TimedText> out;
    for (const core::Event& e : pipeline::parse_events(answer, span))
      out.push_back({core::media_seconds(e.start_ns), core::media_seconds(e.end_ns), e.text});
    return out;
  }

  std::unique_ptr<serve::ModelHost> host_;
  fs::path scratch_;
};
INSTANTIATE_TEST_SUITE_P(Parallel, VideoUrlTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "parallel" + std::to_string(i.param);
                         });

TEST_P(VideoUrlTest, ChatServiceGivesSummarizesEvents) {
  const fs::path clip = sample_clip();
  const std::vector<TimedText> want = summarize_events(clip, scratch_ / "cli");
  ASSERT_FALSE(want.empty());
  const Window w = summarize_window(clip);
  serve::ChatService chat(*host_, limits());
  chat.set_video_expander(serve::make_video_expander(*host_, limits()));
  serve::ChatRequest req;
  req.temperature = 0;
  req.max_tokens = host_->default_max_tokens;
  serve::RequestMessage m;
  m.where = "messages[0]";
  serve::RequestPart video, text;
  video.kind = serve::RequestPart::Kind::kVideo;
  video.source = clip.string();
  video.where = "messages[0].content[0]";
  text.text = w.instruction;
  text.where = "messages[0].content[1]";
  m.parts = {video, text};
  req.messages = {m};
  const serve::ChatOutcome out = chat.run(req);
  EXPECT_EQ(describe(events_of_answer(out.result.text, w.span)), describe(want))
      << "answer: " << out.result.text;
}

TEST_P(VideoUrlTest, ChatCompletionsOverHttpGivesSummarizesEvents) {
  const fs::path clip = sample_clip();
  const std::vector<TimedText> want = summarize_events(clip, scratch_ / "cli");
  const Window w = summarize_window(clip);
  serve::ApiServerOptions so;
  so.port = 0;
  so.limits = limits();
  serve::ApiServer server(*host_, so);
  server.chat().set_video_expander(serve::make_video_expander(*host_, so.limits));
  serve::VideoJobs jobs(*host_, so.limits, {.jobs_dir = scratch_ / "jobs"});
  jobs.add_routes(server.http(), [&](std::string e, http::RequestHandler h) {
    return server.counted(std::move(e), std::move(h));
  });
  server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  const json request = {{"model", host_->name},
                        {"temperature", 0},
                        {"max_tokens", host_->default_max_tokens},
                        {"messages",
                         {{{"role", "user"},
                           {"content",
                            {{{"type", "video_url"}, {"video_url", {{"url", clip.string()}}}},
                             {{"type", "text"}, {"text", w.instruction}}}}}}}};
  CurlResult r = curl_json("POST", base + "/v1/chat/completions", scratch_, request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string answer = json::parse(r.body)["choices"][0]["message"]["content"];
  EXPECT_EQ(describe(events_of_answer(answer, w.span)), describe(want)) << answer;

  // The same clip as a job on the same server: the same events.
  r = curl_json("POST", base + "/v1/videos/summaries", scratch_,
                json{{"source", clip.string()}, {"formats", "jsonl"}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body)["id"];
  json job;
  for (int i = 0; i < 600; ++i) {
    job = json::parse(curl("GET", base + "/v1/videos/summaries/" + id, scratch_).body);
    if (job["status"] != "queued" && job["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(job["status"], "done") << job.dump();
  std::vector<TimedText> got;
  for (const json& e : job["events"]) got.push_back({e["start"], e["end"], e["text"]});
  EXPECT_EQ(describe(got), describe(want));
  // /metrics counts the job routes (ApiServer::counted).
  EXPECT_NE(curl("GET", base + "/metrics", scratch_).body.find("/v1/videos/summaries"),
            std::string::npos);

  // A video outside --allow-path: 400 naming the part, in the OpenAI envelope.
  json bad = request;
  bad["messages"][0]["content"][0]["video_url"]["url"] = "/etc/hostname";
  r = curl_json("POST", base + "/v1/chat/completions", scratch_, bad.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  const json err = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(err.is_object() && err.contains("error")) << r.body;
  EXPECT_NE(err["error"]["message"].get<std::string>().find("messages[0].content[0]"),
            std::string::npos)
      << r.body;
  server.drain();
}

}  // namespace
}  // namespace framescribe::testing
