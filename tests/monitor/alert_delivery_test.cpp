// Alert deliveries: the JSONL log, a webhook on a local cpp-httplib server (JSON received,
// retries after a failure, a timeout against a server that never answers), and a command.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {
namespace {

namespace fs = std::filesystem;

AlertRecord sample_alert() {
  AlertRecord a;
  a.stream = "rtsp://cam1/live";
  a.rule = "person";
  a.question = "Is there a person?";
  a.score = 0.875;
  a.hits = 2;
  a.of = 3;
  a.window_id = 17;
  a.pts_ns = 12'500'000'000;
  a.wall_clock_ns = 1'764'201'600'250'000'000;  // 2025-11-27T00:00:00.250Z
  a.snapshot_path = "snapshots/cam1-person-17.jpg";
  return a;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("fs-alert-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(AlertJson, HasEveryField) {
  const nlohmann::json j = nlohmann::json::parse(alert_json(sample_alert()));
  EXPECT_EQ(j["type"], "alert");
  EXPECT_EQ(j["stream"], "rtsp://cam1/live");
  EXPECT_EQ(j["rule"], "person");
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.875);
  EXPECT_EQ(j["window"], 17);
  EXPECT_DOUBLE_EQ(j["pts"].get<double>(), 12.5);
  EXPECT_EQ(j["time"], "2025-11-27T00:00:00.250Z");
  EXPECT_EQ(j["snapshot"], "snapshots/cam1-person-17.jpg");
}

TEST(AlertLog, AppendsOneLinePerAlert) {
  const fs::path d = temp_dir("log");
  {
    auto log = make_alert_log(d / "alerts.jsonl");
    EXPECT_TRUE(log->deliver(sample_alert()));
    EXPECT_TRUE(log->deliver(sample_alert()));
  }
  std::ifstream in(d / "alerts.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(nlohmann::json::parse(line)["rule"], "person");
    ++n;
  }
  EXPECT_EQ(n, 2);
  fs::remove_all(d);
}

TEST(Webhook, PostsTheJsonAndRetriesAfterAFailure) {
  httplib::Server server;
  std::mutex mu;
  std::vector<std::string> bodies;
  std::vector<std::string> types;
  std::atomic<int> calls{0};
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    if (calls.fetch_add(1) == 0) {  // the first attempt fails
      res.status = 503;
      return;
    }
    std::lock_guard lock(mu);
    bodies.push_back(req.body);
    types.push_back(req.get_header_value("Content-Type"));
    res.status = 204;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto hook = make_webhook({.url = "http://127.0.0.1:" + std::to_string(port) + "/hook",
                            .timeout_ms = 2000,
                            .retries = 2});
  EXPECT_TRUE(hook->deliver(sample_alert()));
  server.stop();
  t.join();
  EXPECT_EQ(calls.load(), 2);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(types[0], "application/json");
  const nlohmann::json j = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(j["rule"], "person");
  EXPECT_EQ(j["window"], 17);
  EXPECT_EQ(hook->failures(), 0);
}

TEST(Webhook, GivesUpAfterTimeoutsAndRetries) {
  httplib::Server server;
  std::atomic<int> calls{0};
  server.Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    res.status = 200;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto hook = make_webhook({.url = "http://127.0.0.1:" + std::to_string(port) + "/slow",
                            .timeout_ms = 200,
                            .retries = 1});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(hook->deliver(sample_alert()));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 1.5);  // 2 x 200 ms + 200 ms between them, not 2 x 700 ms
  EXPECT_EQ(hook->failures(), 1);
  server.stop();
  t.join();
  EXPECT_EQ(calls.load(), 2);
}

TEST(Webhook, RefusesANonHttpUrl) {
  EXPECT_THROW(make_webhook({.url = "ftp://x/"}), Error);
}

TEST(AlertCommand, GetsTheJsonOnStdinAndTheEnvironment) {
  const fs::path d = temp_dir("cmd");
  auto cmd = make_alert_command("cat > '" + (d / "in.json").string() +
                                "'; echo \"$FS_ALERT_RULE $FS_ALERT_STREAM\" > '" +
                                (d / "env.txt").string() + "'");
  EXPECT_TRUE(cmd->deliver(sample_alert()));
  std::ifstream in(d / "in.json");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(nlohmann::json::parse(line)["rule"], "person");
  std::ifstream env(d / "env.txt");
  ASSERT_TRUE(std::getline(env, line));
  EXPECT_EQ(line, "person rtsp://cam1/live");
  auto failing = make_alert_command("exit 3");
  EXPECT_FALSE(failing->deliver(sample_alert()));
  EXPECT_EQ(failing->failures(), 1);
  fs::remove_all(d);
}

TEST(UrlOrigin, DropsCredentialsAndPath) {
  EXPECT_EQ(url_origin("https://bob:pw@hooks.example.com:8443/a/b?token=x"),
            "https://hooks.example.com:8443");
}

}  // namespace
}  // namespace framescribe::sinks
