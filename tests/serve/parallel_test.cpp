// serve --parallel N (issue 24): requests run at once on the step scheduler, and each answers
// exactly what it answers alone. A mix of requests (streamed and not, images, logprobs, sampling
// with a seed, stop strings, different max_tokens, several turns) is fired at once at a 4-slot
// server over real HTTP on 127.0.0.1, with one client that leaves mid-stream; every answer
// (text, logprobs, usage, finish_reason) is compared with the same request sent alone to a
// --parallel 1 server (the single-engine path). The CPU engine is bit-exact, so equality is
// exact. Also: the steps really batched several requests, the departed client's slot was freed
// and its generation stopped, /metrics carries the slots and the scheduler's counters.
#include <gtest/gtest.h>

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>
#include <vector>

#include "serve/serve_test_support.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace framescribe::serve::testing;

json image_part(const std::string& uri) {
  return {{"type", "image_url"}, {"image_url", {{"url", uri}}}};
}
json text_part(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}
json user(json content) {
  return {{"role", "user"}, {"content", std::move(content)}};
}

// What a client reads of an answer, streamed or not; timings (wall clock) left out.
struct Answer {
  int status = 0;
  std::string text, finish;
  json logprobs = json::array();  // choices[0].logprobs.content, streamed chunks concatenated
  json usage;                     // null when the stream was asked without include_usage
  std::string body;               // for failure messages
};

Answer read_answer(const httplib::Result& res, bool stream) {
  Answer a;
  if (!res) return a;
  a.status = res->status;
  a.body = res->body;
  if (res->status != 200) return a;
  if (!stream) {
    const json j = json::parse(res->body);
    const json& c = j["choices"][0];
    a.text = c["message"]["content"];
    a.finish = c["finish_reason"];
    if (c.contains("logprobs") && c["logprobs"].is_object()) a.logprobs = c["logprobs"]["content"];
    a.usage = j["usage"];
    return a;
  }
  std::size_t pos = 0;
  while ((pos = res->body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = res->body.find("\n\n", pos);
    const std::string data = res->body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") break;
    const json e = json::parse(data);
    if (e.contains("error")) {
      a.status = -1;  // an error event after the stream started
      return a;
    }
    if (e.contains("usage") && e["usage"].is_object()) a.usage = e["usage"];
    for (const json& c : e["choices"]) {
      if (c["delta"].contains("content")) a.text += c["delta"]["content"].get<std::string>();
      if (c.contains("finish_reason") && c["finish_reason"].is_string())
        a.finish = c["finish_reason"];
      if (c.contains("logprobs") && c["logprobs"].is_object())
        for (const json& lp : c["logprobs"]["content"]) a.logprobs.push_back(lp);
    }
  }
  return a;
}

Answer send(int port, const json& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(300, 0);
  const bool stream = body.value("stream", false);
  return read_answer(c.Post("/v1/chat/completions", body.dump(), "application/json"), stream);
}

double metric(int port, const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  auto m = c.Get("/metrics");
  if (!m || m->status != 200) return -1;
  const std::regex line("(^|\n)" + name + " ([-0-9.e+]+)");
  std::smatch got;
  if (!std::regex_search(m->body, got, line)) return -1;
  return std::stod(got[2]);
}

// The mix: each request different in what it asks, so that a row of one request evaluated
// with another's data, or one request's stop or sampler state leaking into another, shows.
std::vector<json> request_mix() {
  const std::string a = sample_frame_data_uri(0.5), b = sample_frame_data_uri(2.5),
                    c = sample_frame_data_uri(4.0);
  const auto chat = [](json messages, json extra) {
    json r = {{"model", "framescribe-demo"}, {"messages", std::move(messages)}};
    for (auto& [k, v] : extra.items()) r[k] = v;
    return r;
  };
  std::vector<json> mix;
  mix.push_back(chat({user({image_part(a), text_part("What happens?")})}, {{"max_tokens", 24}}));
  mix.push_back(chat({user({image_part(b), text_part("Describe the scene.")})},
                     {{"stream", true},
                      {"stream_options", {{"include_usage", true}}},
                      {"logprobs", true},
                      {"top_logprobs", 3},
                      {"max_tokens", 40}}));
  mix.push_back(chat({user("Describe a red square.")}, {{"stream", true}, {"max_tokens", 8}}));
  mix.push_back(chat({user({image_part(a), image_part(c), text_part("What changed?")})},
                     {{"logprobs", true}, {"top_logprobs", 5}, {"max_tokens", 16}}));
  mix.push_back(chat({user({image_part(c), text_part("What happens?")})},
                     {{"stop", json::array({" the", "."})}, {"max_tokens", 64}}));
  mix.push_back(chat({user({image_part(b), text_part("What happens?")})},
                     {{"stream", true},
                      {"stream_options", {{"include_usage", true}}},
                      {"temperature", 0.8},
                      {"top_p", 0.9},
                      {"seed", 7},
                      {"max_tokens", 30}}));
  mix.push_back(chat({{{"role", "system"}, {"content", "Answer in one word."}}, user("Colour?")},
                     {{"max_tokens", 1}}));
  mix.push_back(chat({user({image_part(c), text_part("Describe.")})},
                     {{"stream", true},
                      {"stream_options", {{"include_usage", true}}},
                      {"stop", "e"},
                      {"max_tokens", 50}}));
  mix.push_back(chat({user({image_part(a), text_part("What is it?")}),
                      {{"role", "assistant"}, {"content", "A shape."}},
                      user("Which colour?")},
                     {{"max_tokens", 20}, {"temperature", 0.5}, {"seed", 3}}));
  mix.push_back(
      chat({user({image_part(b), text_part("What moves?")})},
           {{"stream", true}, {"logprobs", true}, {"top_logprobs", 0}, {"max_tokens", 48}}));
  return mix;
}

// Sends every request at once (a thread each, released together).
std::vector<Answer> send_together(int port, const std::vector<json>& requests) {
  std::vector<Answer> out(requests.size());
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (std::size_t k = 0; k < requests.size(); ++k)
    clients.emplace_back([&, k] {
      while (!go) std::this_thread::yield();
      out[k] = send(port, requests[k]);
    });
  go = true;
  for (std::thread& t : clients) t.join();
  return out;
}

// Whether every slot is free within 30 s.
bool wait_idle(const ModelHost& host) {
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (host.gate.running() > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(2ms);
  return host.gate.running() == 0;
}

void expect_same(const Answer& got, const Answer& want, std::size_t k) {
  SCOPED_TRACE("request " + std::to_string(k));
  ASSERT_EQ(want.status, 200) << want.body;
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.finish, want.finish);
  EXPECT_EQ(got.usage, want.usage);
  // Log-probabilities bit for bit: the JSON numbers are printed with full precision.
  EXPECT_EQ(got.logprobs, want.logprobs);
}

TEST(ServeParallel, ConcurrentRequestsAnswerWhatEachAnswersAlone) {
  const std::vector<json> mix = request_mix();
  // Alone, one at a time, on the single-engine path.
  std::vector<Answer> alone;
  {
    TestServer one = start_server(demo_host());
    ASSERT_EQ(one.host->parallel(), 1);
    ASSERT_FALSE(one.host->batched());
    for (const json& r : mix) {
      alone.push_back(send(one.port(), r));
      ASSERT_EQ(alone.back().status, 200) << alone.back().body;
    }
  }
  // The comparison means something: answers with text, log-probabilities where asked.
  int with_text = 0;
  for (const Answer& a : alone) with_text += a.text.empty() ? 0 : 1;
  EXPECT_GE(with_text, 8);
  for (std::size_t k : {1u, 3u, 9u}) EXPECT_FALSE(alone[k].logprobs.empty()) << k;

  // All at once: 10 requests on 4 slots, so some wait their turn.
  TestServer many = start_server(demo_host(inference::LoadFormat::kCheckpoint, true, 4));
  ASSERT_EQ(many.host->parallel(), 4);
  ASSERT_TRUE(many.host->batched());
  const std::vector<Answer> together = send_together(many.port(), mix);
  for (std::size_t k = 0; k < mix.size(); ++k) expect_same(together[k], alone[k], k);

  // The steps batched several requests' work.
  const auto stats = many.host->scheduler_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GE(stats->max_step_calls, 2) << "no step ever served two requests: nothing was batched";
  EXPECT_GT(stats->steps, 0);
  // A stream's slot comes back when the server has sent its end (just after the client read it).
  EXPECT_TRUE(wait_idle(*many.host));

  // Metrics: the slots and the scheduler's counters.
  EXPECT_EQ(metric(many.port(), "framescribe_serve_slots"), 4);
  EXPECT_EQ(metric(many.port(), "framescribe_serve_slots_running"), 0);
  EXPECT_EQ(metric(many.port(), "framescribe_serve_queue_depth"), 0);
  const double steps = metric(many.port(), "framescribe_serve_scheduler_steps_total");
  EXPECT_EQ(steps, static_cast<double>(many.host->scheduler_stats()->steps));
  EXPECT_GT(metric(many.port(), "framescribe_serve_scheduler_rows_total"), steps);
  EXPECT_GE(metric(many.port(), "framescribe_serve_scheduler_max_step_calls"), 2);
  EXPECT_EQ(metric(many.port(), "framescribe_serve_scheduler_preemptions_total"),
            static_cast<double>(many.host->scheduler_stats()->preemptions));
  // The single-engine server has no scheduler lines.
  TestServer one = start_server(demo_host());
  EXPECT_EQ(metric(one.port(), "framescribe_serve_slots"), 1);
  EXPECT_EQ(metric(one.port(), "framescribe_serve_scheduler_steps_total"), -1);

  // Afterwards the slots serve again, and the same request answers as before.
  expect_same(send(many.port(), mix[1]), alone[1], 1);
}

// Long answers (the dummy weights rarely end early): requests running side by side, one client
// that leaves mid-stream. The others answer as alone; the leaver's generation stops at its next
// token and its slot comes back.
TEST(ServeParallel, AClientThatLeavesMidStreamFreesItsSlot) {
  std::vector<json> mix;
  for (int k = 0; k < 3; ++k)
    mix.push_back({{"model", "framescribe-demo"},
                   {"messages", {user("Story " + std::to_string(k))}},
                   {"stream", k != 1},
                   {"stream_options", {{"include_usage", true}}},
                   {"logprobs", k == 2},
                   {"max_tokens", 120 + 40 * k}});
  mix[1].erase("stream_options");
  mix[2]["top_logprobs"] = 2;
  const json leaving = {{"model", "framescribe-demo"},
                        {"messages", {user("A long story.")}},
                        {"stream", true},
                        {"max_tokens", 1000}};
  std::vector<Answer> alone;
  double leaving_full = 0;
  {
    TestServer one = start_server(demo_host(inference::LoadFormat::kDummy));
    for (const json& r : mix) alone.push_back(send(one.port(), r));
    json full = leaving;
    full["stream"] = false;
    const Answer f = send(one.port(), full);
    ASSERT_EQ(f.status, 200) << f.body;
    leaving_full = f.usage["completion_tokens"];
  }
  ASSERT_GT(leaving_full, 500) << "the dummy model ended early: the test cannot tell a stop";

  TestServer many = start_server(demo_host(inference::LoadFormat::kDummy, true, 4));
  std::thread leaver([&] {
    const std::string body = leaving.dump();
    const int fd = connect_loopback(many.port());
    ASSERT_GE(fd, 0);
    const std::string req =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(many.port()) +
        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    char buf[4096];
    while (got.find("delta\":{\"content") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    close(fd);
  });
  const std::vector<Answer> together = send_together(many.port(), mix);
  leaver.join();
  for (std::size_t k = 0; k < mix.size(); ++k) expect_same(together[k], alone[k], k);

  EXPECT_TRUE(wait_idle(*many.host)) << "the leaver's slot never came back";
  double answered = 0;
  for (const Answer& a : alone) answered += a.usage["completion_tokens"].get<double>();
  const double generated = metric(many.port(), "framescribe_serve_generated_tokens_total");
  ASSERT_GE(generated, answered);
  EXPECT_LT(generated - answered, leaving_full / 2)
      << "the generation ran on after the client left";
  const Answer after = send(many.port(), mix[0]);
  expect_same(after, alone[0], 0);
}

// More requests than slots and queue: the queue keeps its bound in front of the N slots.
TEST(ServeParallel, TheQueueIsBoundedInFrontOfTheSlots) {
  TestServer t = start_server(demo_host(inference::LoadFormat::kCheckpoint, true, 2));
  t.host->gate.set_max_waiting(1);
  auto a = t.host->gate.acquire();  // both slots busy
  auto b = t.host->gate.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->slot(), b->slot());
  const json body = {{"model", "framescribe-demo"}, {"messages", {user("hi")}}, {"max_tokens", 3}};
  Answer waited;
  std::thread waiter([&] { waited = send(t.port(), body); });
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (t.host->gate.waiting() < 1 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(2ms);
  ASSERT_EQ(t.host->gate.waiting(), 1u);
  httplib::Client c("127.0.0.1", t.port());
  auto refused = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_TRUE(refused->has_header("Retry-After"));
  b.reset();  // one slot frees: the waiter runs on it
  waiter.join();
  EXPECT_EQ(waited.status, 200) << waited.body;
}

}  // namespace
}  // namespace framescribe::serve
