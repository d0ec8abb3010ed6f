// `framescribe serve` as users run it: the built binary on 127.0.0.1 port 0 with the demo model
// (the listening line names the port and model; /health, a chat), a non-loopback --host without
// --api-key refused (exit 2), and SIGINT while an answer streams: the answer finishes, then the
// server exits 0; --parallel N (several answers at once, drained together; 1; 0 refused).
#include <gtest/gtest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "apps/cli_run.h"

namespace framescribe::serve {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class ServeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("serve-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      framescribe::testing::wait_framescribe(pid_);
    }
    fs::remove_all(dir_);
  }
  // Starts the server; returns its port from the listening line (0: it did not listen).
  int start(std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = framescribe::testing::spawn_framescribe(args, dir_ / "out.txt", dir_ / "err.txt");
    const std::regex line(
        R"(framescribe serve: listening on http://127\.0\.0\.1:(\d+) \(model framescribe-demo\))");
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string err = read_file(dir_ / "err.txt");
      if (std::regex_search(err, m, line)) return std::stoi(m[1]);
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << read_file(dir_ / "err.txt");
    return 0;
  }
  // Waits for /health 200.
  static bool ready(int port) {
    httplib::Client c("127.0.0.1", port);
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      auto r = c.Get("/health");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  fs::path dir_;
  pid_t pid_ = -1;
};

TEST_F(ServeCli, ListensAnswersAndStopsOnSigint) {
  const int port = start({"--max-tokens", "8"});
  ASSERT_GT(port, 0);
  ASSERT_TRUE(ready(port));
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/v1/chat/completions",
                  R"({"model":"framescribe-demo","messages":[{"role":"user","content":"hi"}]})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_LE(json::parse(r->body)["usage"]["completion_tokens"].get<int>(), 8);  // --max-tokens
  kill(pid_, SIGINT);
  EXPECT_EQ(framescribe::testing::wait_framescribe(pid_), 0);
  pid_ = -1;
  EXPECT_NE(read_file(dir_ / "err.txt").find("framescribe serve: stopped"), std::string::npos);
}

TEST_F(ServeCli, SigintLetsTheAnswerInProgressFinish) {
  const int port = start({"--load-format", "dummy"});
  ASSERT_GT(port, 0);
  ASSERT_TRUE(ready(port));
  std::string body;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    auto r = c.Post(
        "/v1/chat/completions",
        R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":1500,"stream":true})",
        "application/json");
    if (r) body = r->body;
  });
  // Signal once the answer is under way.
  httplib::Client m("127.0.0.1", port);
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    auto metrics = m.Get("/metrics");
    // The chat is counted when its handler returns, just before its stream starts.
    if (metrics && metrics->body.find("chat/completions") != std::string::npos) break;
    std::this_thread::sleep_for(5ms);
  }
  kill(pid_, SIGINT);
  client.join();
  EXPECT_EQ(framescribe::testing::wait_framescribe(pid_), 0);
  pid_ = -1;
  EXPECT_NE(body.find("\"finish_reason\":\""), std::string::npos) << body.substr(0, 300);
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
}

TEST_F(ServeCli, ASecondSigintStopsTheAnswerInProgress) {
  const int port = start({"--load-format", "dummy"});
  ASSERT_GT(port, 0);
  ASSERT_TRUE(ready(port));
  const std::string request =
      R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":2000,"stream":true})";
  // The whole answer's length first (dummy weights rarely end early).
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  auto full = c.Post("/v1/chat/completions", request, "application/json");
  ASSERT_TRUE(full);
  const auto count = [](const std::string& body) {
    std::size_t n = 0;
    for (std::size_t p = 0; (p = body.find("\"delta\":{\"content\"", p)) != std::string::npos; ++p)
      ++n;
    return n;
  };
  const std::size_t full_chunks = count(full->body);
  ASSERT_GT(full_chunks, 200u) << "the dummy model ended early: the test cannot tell a stop";
  std::string body;
  std::atomic<bool> started{false};
  std::thread client([&] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    const std::string head =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        "\r\nContent-Length: " + std::to_string(request.size()) + "\r\n\r\n" + request;
    send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      body.append(buf, static_cast<std::size_t>(n));
      if (body.find("\"delta\":{\"content\"") != std::string::npos) started = true;
      if (body.find("data: [DONE]") != std::string::npos) break;
    }
    close(fd);
  });
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!started && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(started.load());
  kill(pid_, SIGINT);
  std::this_thread::sleep_for(20ms);
  kill(pid_, SIGINT);
  client.join();
  EXPECT_EQ(framescribe::testing::wait_framescribe(pid_), 0);
  pid_ = -1;
  EXPECT_LT(count(body), full_chunks) << "the answer ran to its end after the second SIGINT";
  EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
}

// --parallel N: N requests at once on the step scheduler (the default on the CPU is 4); SIGINT
// lets every answer in progress finish. --parallel 1: the single-engine path. 0: refused.
TEST_F(ServeCli, ParallelSlotsAnswerTogetherAndDrain) {
  const int port = start({"--load-format", "dummy", "--parallel", "3"});
  ASSERT_GT(port, 0);
  ASSERT_TRUE(ready(port));
  EXPECT_NE(read_file(dir_ / "err.txt").find("3 requests at once, batched"), std::string::npos)
      << read_file(dir_ / "err.txt");
  std::vector<std::string> bodies(3);
  std::vector<std::thread> clients;
  for (int k = 0; k < 3; ++k)
    clients.emplace_back([&, k] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      auto r = c.Post("/v1/chat/completions",
                      R"({"messages":[{"role":"user","content":"hello )" + std::to_string(k) +
                          R"("}],"max_tokens":600,"stream":true})",
                      "application/json");
      if (r) bodies[static_cast<std::size_t>(k)] = r->body;
    });
  // Signal once all three run at once.
  httplib::Client m("127.0.0.1", port);
  const auto end = std::chrono::steady_clock::now() + 20s;
  std::string metrics;
  while (std::chrono::steady_clock::now() < end) {
    auto r = m.Get("/metrics");
    if (r) metrics = r->body;
    if (metrics.find("framescribe_serve_slots_running 3") != std::string::npos) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_NE(metrics.find("framescribe_serve_slots 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("framescribe_serve_slots_running 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("framescribe_serve_scheduler_steps_total"), std::string::npos);
  kill(pid_, SIGINT);
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(framescribe::testing::wait_framescribe(pid_), 0);
  pid_ = -1;
  for (const std::string& b : bodies) {
    EXPECT_NE(b.find("\"finish_reason\":\"length\""), std::string::npos) << b.substr(0, 300);
    EXPECT_NE(b.find("data: [DONE]"), std::string::npos);
  }
}

TEST_F(ServeCli, ParallelOneIsTheSingleEngineAndZeroIsRefused) {  // and --step-tokens 0
  const int port = start({"--parallel", "1"});
  ASSERT_GT(port, 0);
  ASSERT_TRUE(ready(port));
  EXPECT_NE(read_file(dir_ / "err.txt").find("one request at a time"), std::string::npos);
  httplib::Client c("127.0.0.1", port);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("framescribe_serve_slots 1"), std::string::npos);
  EXPECT_EQ(metrics->body.find("framescribe_serve_scheduler_"), std::string::npos);
  kill(pid_, SIGINT);
  EXPECT_EQ(framescribe::testing::wait_framescribe(pid_), 0);
  pid_ = -1;
  const auto r =
      framescribe::testing::run_framescribe({"serve", "--parallel", "0"}, dir_ / "err-run.txt");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--parallel"), std::string::npos) << r.err;
  // --step-tokens 0: one request at a time whatever --parallel says.
  const int port0 = start({"--parallel", "3", "--step-tokens", "0"});
  ASSERT_GT(port0, 0);
  ASSERT_TRUE(ready(port0));
  EXPECT_NE(read_file(dir_ / "err.txt").find("one request at a time"), std::string::npos);
  httplib::Client c0("127.0.0.1", port0);
  auto m0 = c0.Get("/metrics");
  ASSERT_TRUE(m0);
  EXPECT_NE(m0->body.find("framescribe_serve_slots 1"), std::string::npos);
}

TEST_F(ServeCli, ANonLoopbackHostNeedsAKey) {
  const auto r =
      framescribe::testing::run_framescribe({"serve", "--host", "0.0.0.0"}, dir_ / "err-run.txt");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--host 0.0.0.0: serving beyond this machine needs --api-key"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace framescribe::serve
