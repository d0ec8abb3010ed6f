// The serve endpoints around chat, over real HTTP on 127.0.0.1: /health while loading and after,
// /v1/models (what Frigate and VSS read), /metrics in Prometheus' format with the counts of the
// requests made, the API key, the body limit, errors in the OpenAI envelope for unknown routes,
// and a client that disconnects mid-stream stopping its generation (--load-format dummy
// weights, which rarely end early).
#include <gtest/gtest.h>

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "serve/serve_test_support.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace framescribe::serve::testing;

json text_chat(const std::string& text, json extra = json::object()) {
  json b = {{"model", "framescribe-demo"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

TEST(ServeApi, HealthIs503UntilTheModelIsLoaded) {
  TestServer t = start_server(demo_host(inference::LoadFormat::kCheckpoint, /*load=*/false));
  httplib::Client c("127.0.0.1", t.port());
  auto loading = c.Get("/health");
  ASSERT_TRUE(loading);
  EXPECT_EQ(loading->status, 503);
  EXPECT_EQ(json::parse(loading->body)["error"]["type"], "server_error");
  auto chat = c.Post("/v1/chat/completions", text_chat("hi").dump(), "application/json");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->status, 503);
  t.host->engine = inference::load_engine(demo_model_dir(), {});
  t.host->loaded = true;
  auto ok = c.Get("/health");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body), json({{"status", "ok"}}));
}

TEST(ServeApi, ModelsListTheServedModel) {
  TestServer t = start_server(demo_host());
  httplib::Client c("127.0.0.1", t.port());
  auto r = c.Get("/v1/models");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "framescribe-demo");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(j["data"][0]["max_model_len"], t.host->engine->max_context());
  auto one = c.Get("/v1/models/framescribe-demo");
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->body)["id"], "framescribe-demo");
  auto other = c.Get("/v1/models/llava");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto route = c.Get("/v1/nothing");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, 404);
  EXPECT_EQ(json::parse(route->body)["error"]["type"], "invalid_request_error");
  auto method = c.Delete("/v1/models");
  ASSERT_TRUE(method);
  EXPECT_EQ(method->status, 405);
}

TEST(ServeApi, ApiKeyAndBodyLimit) {
  ApiServerOptions o;
  o.policy.api_key = "s3cret";
  o.limits.max_body_bytes = 1 << 20;
  TestServer t = start_server(demo_host(), o);
  httplib::Client c("127.0.0.1", t.port());
  auto health = c.Get("/health");  // public
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto none = c.Post("/v1/chat/completions", text_chat("hi").dump(), "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(json::parse(none->body)["error"]["type"], "authentication_error");
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  httplib::Headers key = {{"Authorization", "Bearer s3cret"}};
  auto ok = c.Post("/v1/chat/completions", key, text_chat("hi", {{"max_tokens", 2}}).dump(),
                   "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  const std::string big = text_chat(std::string(2 << 20, 'a')).dump();
  auto too_big = c.Post("/v1/chat/completions", key, big, "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(json::parse(too_big->body)["error"]["type"], "invalid_request_error");
  httplib::Client c2("127.0.0.1", t.port());
  auto after = c2.Get("/health");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// Prometheus text: every sample line is `name{labels} value`, every name has a TYPE.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(([a-z_]+)(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf))");
  const std::regex type(R"(# TYPE ([a-z_]+) (counter|gauge|histogram))");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, m, sample)) << line;
    std::string name = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (name.size() > std::strlen(suffix) && name.ends_with(suffix) &&
          typed.count(name.substr(0, name.size() - std::strlen(suffix))))
        name = name.substr(0, name.size() - std::strlen(suffix));
    EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
    samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
  }
  return samples;
}

TEST(ServeApi, MetricsCountWhatHappened) {
  TestServer t = start_server(demo_host());
  httplib::Client c("127.0.0.1", t.port());
  auto ok = c.Post("/v1/chat/completions", text_chat("hi", {{"max_tokens", 5}}).dump(),
                   "application/json");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200);
  const json answer = json::parse(ok->body);
  auto bad = c.Post("/v1/chat/completions", "{", "application/json");
  ASSERT_TRUE(bad);
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  const auto s = parse_prometheus(m->body);
  EXPECT_EQ(
      s.at(R"(framescribe_serve_requests_total{endpoint="/v1/chat/completions",status="200"})"), 1);
  EXPECT_EQ(
      s.at(R"(framescribe_serve_requests_total{endpoint="/v1/chat/completions",status="400"})"), 1);
  EXPECT_EQ(s.at("framescribe_serve_queue_depth"), 0);
  EXPECT_EQ(s.at("framescribe_serve_prompt_tokens_total"),
            answer["usage"]["prompt_tokens"].get<double>());
  EXPECT_EQ(s.at("framescribe_serve_generated_tokens_total"),
            answer["usage"]["completion_tokens"].get<double>());
  EXPECT_EQ(s.at("framescribe_serve_time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(s.at(R"(framescribe_serve_time_to_first_token_seconds_bucket{le="+Inf"})"), 1);
  EXPECT_EQ(s.at("framescribe_serve_time_per_token_seconds_count"),
            answer["usage"]["completion_tokens"].get<double>() - 1);
}

TEST(ServeApi, DisconnectMidStreamStopsTheGeneration) {
  auto host = demo_host(inference::LoadFormat::kDummy);
  TestServer t = start_server(std::move(host));
  const int max_tokens = 1500;
  // How long the full answer is (dummy weights: to max_tokens unless EOS comes first).
  httplib::Client c("127.0.0.1", t.port());
  auto full = c.Post("/v1/chat/completions",
                     text_chat("hello", {{"max_tokens", max_tokens}}).dump(), "application/json");
  ASSERT_TRUE(full);
  ASSERT_EQ(full->status, 200);
  const int full_tokens = json::parse(full->body)["usage"]["completion_tokens"];
  ASSERT_GT(full_tokens, 200) << "the dummy model ended early: the test cannot tell a stop";

  const std::string body =
      text_chat("hello", {{"max_tokens", max_tokens}, {"stream", true}}).dump();
  const int fd = connect_loopback(t.port());
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(t.port()) +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  while (got.find("\"content\":\"") == std::string::npos ||
         got.find("delta\":{\"content") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  // The engine is free soon, and fewer tokens were made than the full answer has.
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (t.host->gate.busy() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(2ms);
  EXPECT_FALSE(t.host->gate.busy());
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  const auto s = parse_prometheus(m->body);
  const double generated = s.at("framescribe_serve_generated_tokens_total") - full_tokens;
  EXPECT_LT(generated, full_tokens) << "the generation ran to its end after the client left";
  auto after = c.Post("/v1/chat/completions", text_chat("hi", {{"max_tokens", 3}}).dump(),
                      "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

// An image URL that never answers ends at the URL time limit with a 400 naming the part, and
// while it waits, and while 200 other connections are open, /health answers at once.
TEST(ServeApi, HostileClientsDoNotStopTheServer) {
  httplib::Server slow;
  std::atomic<bool> release{false};
  slow.Get("/never.png", [&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 500 && !release; ++i) std::this_thread::sleep_for(10ms);
    res.set_content("late", "image/png");
  });
  const int slow_port = slow.bind_to_any_port("127.0.0.1");
  std::thread slow_thread([&] { slow.listen_after_bind(); });

  ApiServerOptions o;
  o.limits.url_timeout_ms = 700;
  TestServer t = start_server(demo_host(), o);
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(connect_loopback(t.port()));
  for (int fd : idle) ASSERT_GE(fd, 0);
  int status = 0;
  std::string body;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread client([&] {
    httplib::Client c("127.0.0.1", t.port());
    const json req = {
        {"messages",
         {{{"role", "user"},
           {"content",
            {{{"type", "image_url"},
              {"image_url", "http://127.0.0.1:" + std::to_string(slow_port) + "/never.png"}},
             {{"type", "text"}, {"text", "q"}}}}}}}};
    auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
    status = r ? r->status : -1;
    body = r ? r->body : "";
  });
  httplib::Client h("127.0.0.1", t.port());
  const auto h0 = std::chrono::steady_clock::now();
  auto health = h.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - h0, 500ms);
  client.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(json::parse(body)["error"]["param"], "messages[0].content[0]") << body;
  release = true;
  for (int fd : idle) close(fd);
  slow.stop();
  slow_thread.join();
}

}  // namespace
}  // namespace framescribe::serve
