// /v1/chat/completions over real HTTP on 127.0.0.1 with the demo model and a frame of a real
// sample clip: the answer equals inference::run_chat on the same engine and messages (what `ask`
// runs), streaming reassembles to the same text and logprobs, and the errors a client meets
// (bad image, local files, unknown model, context overflow, queue full, draining, disconnect).
#include <gtest/gtest.h>

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "framescribe/decoder/still_image.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/preprocess.h"
#include "serve/serve_test_support.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace framescribe::serve::testing;

json chat_body(const std::string& image, const std::string& question, json extra = json::object()) {
  json b = {{"model", "framescribe-demo"},
            {"messages",
             {{{"role", "user"},
               {"content",
                {{{"type", "image_url"}, {"image_url", {{"url", image}, {"detail", "low"}}}},
                 {{"type", "text"}, {"text", question}}}}}}}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

// run_chat on the host's engine, as `ask` runs it: the image preprocessed at the model's edge.
inference::ChatResult direct_answer(ModelHost& host, const std::string& image,
                                    const std::string& question, int max_tokens, int top) {
  auto lease = host.gate.acquire();
  EXPECT_TRUE(lease.has_value());
  inference::PreprocessOptions pre;
  pre.longest_edge_px = host.image_max_edge;
  pre.patch_px = host.config.vision.patch_px;
  const core::Image img = decoder::load_image(image);
  const inference::PixelImage px = inference::preprocess_image(img.view(), pre);
  std::vector<inference::Message> m = {inference::Message::user(
      {inference::Chunk::image_chunk(px, pre.patch_px), inference::Chunk::text_chunk(question)})};
  inference::ChatOptions o;
  o.max_tokens = max_tokens;
  o.stop_tokens = {host.tokenizer->eos()};
  o.logprobs = top > 0;
  o.top_logprobs = top;
  return inference::run_chat(*host.engine, *host.tokenizer, m, o);
}

class ChatApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    image_ = new std::string(sample_frame_data_uri(4.0));
    ASSERT_FALSE(image_->empty());
  }
  static void TearDownTestSuite() { delete image_; }
  static std::string* image_;
};
std::string* ChatApi::image_ = nullptr;

TEST_F(ChatApi, AnswersAsRunChatDoesWithLogprobs) {
  TestServer t = start_server(demo_host());
  const inference::ChatResult want = direct_answer(*t.host, *image_, "What happens?", 24, 3);
  httplib::Client c("127.0.0.1", t.port());
  auto res =
      c.Post("/v1/chat/completions",
             chat_body(*image_, "What happens?",
                       {{"max_completion_tokens", 24}, {"logprobs", true}, {"top_logprobs", 3}})
                 .dump(),
             "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["model"], "framescribe-demo");
  const json& choice = j["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], want.text);
  EXPECT_EQ(choice["finish_reason"],
            want.stop_reason == inference::StopReason::kEos ? "stop" : "length");
  EXPECT_EQ(j["usage"]["prompt_tokens"], want.usage.prompt_tokens);
  EXPECT_EQ(j["usage"]["completion_tokens"], want.usage.completion_tokens);
  EXPECT_EQ(j["usage"]["total_tokens"], want.usage.total_tokens());
  EXPECT_GT(want.usage.image_tokens, 0);
  EXPECT_EQ(j["usage"]["prompt_tokens_details"]["image_tokens"], want.usage.image_tokens);
  EXPECT_TRUE(j["timings"].contains("predicted_ms"));
  const json& lp = choice["logprobs"]["content"];
  ASSERT_EQ(lp.size(), want.logprobs.size());
  for (std::size_t i = 0; i < lp.size(); ++i) {
    EXPECT_DOUBLE_EQ(lp[i]["logprob"].get<double>(), want.logprobs[i].logprob);
    ASSERT_EQ(lp[i]["top_logprobs"].size(), want.logprobs[i].top.size());
    for (std::size_t k = 0; k < want.logprobs[i].top.size(); ++k)
      EXPECT_DOUBLE_EQ(lp[i]["top_logprobs"][k]["logprob"].get<double>(),
                       want.logprobs[i].top[k].logprob);
  }
  // The tokens spell the answer.
  std::string spelled;
  for (const auto& e : lp) spelled += e["token"].get<std::string>();
  if (want.stop_reason != inference::StopReason::kEos) EXPECT_EQ(spelled, want.text);
}

// Splits an SSE body into its data payloads.
std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

TEST_F(ChatApi, StreamReassemblesToTheSameAnswer) {
  TestServer t = start_server(demo_host());
  const inference::ChatResult want = direct_answer(*t.host, *image_, "What happens?", 30, 2);
  httplib::Client c("127.0.0.1", t.port());
  auto res = c.Post("/v1/chat/completions",
                    chat_body(*image_, "What happens?",
                              {{"max_tokens", 30},
                               {"stream", true},
                               {"logprobs", true},
                               {"top_logprobs", 2},
                               {"stream_options", {{"include_usage", true}}}})
                        .dump(),
                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<std::string> ev = sse_events(res->body);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev.back(), "[DONE]");
  const json first = json::parse(ev[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::vector<double> logprobs;
  std::string finish;
  json usage;
  for (std::size_t i = 1; i + 1 < ev.size(); ++i) {
    const json e = json::parse(ev[i]);
    ASSERT_FALSE(e.contains("error")) << ev[i];
    EXPECT_EQ(e["id"], first["id"]);
    if (e["choices"].empty()) {
      usage = e["usage"];
      continue;
    }
    const json& ch = e["choices"][0];
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (ch["logprobs"].is_object())
      for (const auto& l : ch["logprobs"]["content"]) logprobs.push_back(l["logprob"]);
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(text, want.text);
  ASSERT_EQ(logprobs.size(), want.logprobs.size());
  for (std::size_t i = 0; i < logprobs.size(); ++i)
    EXPECT_DOUBLE_EQ(logprobs[i], want.logprobs[i].logprob);
  EXPECT_EQ(finish, want.stop_reason == inference::StopReason::kEos ? "stop" : "length");
  ASSERT_TRUE(usage.is_object());
  EXPECT_EQ(usage["completion_tokens"], want.usage.completion_tokens);
  EXPECT_EQ(usage["prompt_tokens"], want.usage.prompt_tokens);
}

TEST_F(ChatApi, ClientErrorsNameTheirCause) {
  TestServer t = start_server(demo_host());
  httplib::Client c("127.0.0.1", t.port());
  auto post = [&](const std::string& body) {
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    EXPECT_TRUE(r);
    return r ? std::make_pair(r->status, json::parse(r->body, nullptr, false))
             : std::make_pair(0, json());
  };
  auto [s1, j1] = post("{\"messages\": [");
  EXPECT_EQ(s1, 400);
  EXPECT_EQ(j1["error"]["type"], "invalid_request_error");
  auto [s2, j2] = post(chat_body(*image_, "q", {{"n", 2}}).dump());
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(j2["error"]["param"], "n");
  auto [s3, j3] = post(chat_body(*image_, "q", {{"model", "gpt-4o"}}).dump());
  EXPECT_EQ(s3, 404);
  EXPECT_EQ(j3["error"]["code"], "model_not_found");
  auto [s4, j4] = post(chat_body("data:image/png;base64,aGVsbG8=", "q").dump());
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(j4["error"]["param"], "messages[0].content[0]");
  auto [s5, j5] = post(chat_body("/etc/passwd", "q").dump());
  EXPECT_EQ(s5, 400);
  EXPECT_NE(j5["error"]["message"].get<std::string>().find("--allow-path"), std::string::npos);
  auto [s6, j6] =
      post(chat_body(*image_, "q", {{"response_format", {{"type", "json_schema"}}}}).dump());
  EXPECT_EQ(s6, 400);
  auto [s7, j7] = post(
      chat_body(*image_, "q", {{"model", "framescribe-demo:latest"}, {"max_tokens", 2}}).dump());
  EXPECT_EQ(s7, 200) << j7;
  auto [s7b, j7b] = post(chat_body(*image_, "q", {{"model", "framescribe-demo:v2"}}).dump());
  EXPECT_EQ(s7b, 404) << j7b;  // another tag is another model
  auto [s8, j8] =
      post(R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})");
  EXPECT_EQ(s8, 400);
  EXPECT_EQ(j8["error"]["param"], "messages[0].content[0].type");
  // Streams refuse before their first byte, with the status.
  auto [s9, j9] = post(chat_body("data:image/png;base64,aGVsbG8=", "q", {{"stream", true}}).dump());
  EXPECT_EQ(s9, 400);
}

TEST_F(ChatApi, LocalFilesOnlyUnderAllowedFolders) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("serve-allow-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "ok");
  {
    std::ofstream f(dir / "ok" / "frame.png", std::ios::binary);
    f << sample_frame_png(4.0);
  }
  {
    std::ofstream f(dir / "outside.png", std::ios::binary);
    f << sample_frame_png(4.0);
  }
  ApiServerOptions o;
  o.limits.allow_paths = {(dir / "ok").string()};
  TestServer t = start_server(demo_host(), o);
  httplib::Client c("127.0.0.1", t.port());
  auto inside =
      c.Post("/v1/chat/completions",
             chat_body((dir / "ok" / "frame.png").string(), "q", {{"max_tokens", 3}}).dump(),
             "application/json");
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->status, 200) << inside->body;
  for (const std::string& p :
       {(dir / "ok" / ".." / "outside.png").string(), (dir / "outside.png").string(),
        std::string("file://") + (dir / "outside.png").string()}) {
    auto r = c.Post("/v1/chat/completions", chat_body(p, "q").dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << p;
    EXPECT_NE(r->body.find("not under an allowed folder"), std::string::npos) << r->body;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(ChatApi, ContextOverflowNamesSizes) {
  auto host = demo_host();
  host->context_tokens = 20;
  TestServer t = start_server(std::move(host));
  httplib::Client c("127.0.0.1", t.port());
  auto r = c.Post("/v1/chat/completions", chat_body(*image_, "What happens?").dump(),
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["error"]["code"], "context_length_exceeded");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("context is 20 tokens"),
            std::string::npos);
}

TEST_F(ChatApi, QueueFullIs429AndDrainingIs503) {
  TestServer t = start_server(demo_host());
  t.host->gate.set_max_waiting(1);
  auto held = t.host->gate.acquire();  // the engine is busy
  ASSERT_TRUE(held);
  const std::string body = chat_body(*image_, "q", {{"max_tokens", 2}}).dump();
  int first_status = 0;
  std::thread waiter([&] {
    httplib::Client c("127.0.0.1", t.port());
    c.set_read_timeout(10, 0);
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    first_status = r ? r->status : -1;
  });
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (t.host->gate.waiting() < 1 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(t.host->gate.waiting(), 1u);
  httplib::Client c("127.0.0.1", t.port());
  auto busy = c.Post("/v1/chat/completions", body, "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 429);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(busy->body)["error"]["type"], "rate_limit_error");
  held.reset();
  waiter.join();
  EXPECT_EQ(first_status, 200);
  t.host->gate.close();
  auto closed = c.Post("/v1/chat/completions", body, "application/json");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 503);
  EXPECT_TRUE(closed->has_header("Retry-After"));
}

TEST_F(ChatApi, ARequestPastItsTimeLimitLeavesTheQueueWith503) {
  ApiServerOptions o;
  o.limits.request_timeout_ms = 300;
  TestServer t = start_server(demo_host(), o);
  auto held = t.host->gate.acquire();
  httplib::Client c("127.0.0.1", t.port());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.Post("/v1/chat/completions", chat_body(*image_, "q").dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(t.host->gate.waiting(), 0u);
}

TEST_F(ChatApi, AClientThatLeavesTheQueueFreesItsPlace) {
  TestServer t = start_server(demo_host());
  auto held = t.host->gate.acquire();
  const std::string body = chat_body(*image_, "q", {{"stream", true}}).dump();
  const int fd = connect_loopback(t.port());
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(t.port()) +
      "\r\nContent-Type: application/json\r\n" + "Content-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  auto end = std::chrono::steady_clock::now() + 5s;
  while (t.host->gate.waiting() < 1 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(t.host->gate.waiting(), 1u);
  close(fd);
  end = std::chrono::steady_clock::now() + 3s;
  while (t.host->gate.waiting() > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(t.host->gate.waiting(), 0u);
  held.reset();
  httplib::Client c("127.0.0.1", t.port());
  auto after = c.Post("/v1/chat/completions", chat_body(*image_, "q", {{"max_tokens", 2}}).dump(),
                      "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// Frigate's openai provider: one user message, the prompt first, then up to 10 JPEG crops with
// detail "low"; NVIDIA VSS: N frames, then a text part with their timestamps, max_tokens,
// temperature 0.2, top_p 1, seed 1 (the same seed gives the same answer).
TEST_F(ChatApi, FrigateAndVssShapedRequests) {
  TestServer t = start_server(demo_host());
  httplib::Client c("127.0.0.1", t.port());
  c.set_read_timeout(120, 0);  // ten images: slow under sanitizers
  json frigate_parts = {{{"type", "text"}, {"text", "Describe the object in these images."}}};
  json vss_parts = json::array();
  std::string stamps;
  for (int i = 0; i < 10; ++i) {
    const std::string jpeg = sample_frame_jpeg_uri(1.0 + i, 500);
    ASSERT_FALSE(jpeg.empty());
    frigate_parts.push_back(
        {{"type", "image_url"}, {"image_url", {{"url", jpeg}, {"detail", "low"}}}});
    vss_parts.push_back(
        {{"type", "image_url"}, {"image_url", {{"url", jpeg}, {"detail", "auto"}}}});
    stamps += " " + std::to_string(1 + i) + ".0";
  }
  vss_parts.push_back({{"type", "text"},
                       {"text", "These are images sampled from a video at timestamps in seconds :" +
                                    stamps + " . What happens?"}});
  const json frigate = {{"model", "framescribe-demo"},
                        {"messages", {{{"role", "user"}, {"content", frigate_parts}}}}};
  auto f = c.Post("/v1/chat/completions", frigate.dump(), "application/json");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->status, 200) << f->body;
  const json fj = json::parse(f->body);
  EXPECT_GT(fj["usage"]["prompt_tokens_details"]["image_tokens"].get<int>(), 10 * 4);
  const json vss = {{"model", "framescribe-demo"},
                    {"messages", {{{"role", "user"}, {"content", vss_parts}}}},
                    {"max_tokens", 1024},
                    {"temperature", 0.2},
                    {"top_p", 1},
                    {"seed", 1}};
  auto v1 = c.Post("/v1/chat/completions", vss.dump(), "application/json");
  auto v2 = c.Post("/v1/chat/completions", vss.dump(), "application/json");
  ASSERT_TRUE(v1);
  ASSERT_TRUE(v2);
  ASSERT_EQ(v1->status, 200) << v1->body;
  const json a = json::parse(v1->body), b = json::parse(v2->body);
  EXPECT_FALSE(a["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_EQ(a["choices"][0]["message"]["content"], b["choices"][0]["message"]["content"]);
}

}  // namespace
}  // namespace framescribe::serve
