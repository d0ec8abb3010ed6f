// Alert deliveries: the JSONL log, a webhook on a local cpp-httplib server (JSON received,
// retries after a failure, a timeout against a server that never answers), and a command (a
// time limit that kills its process group, no inherited descriptors); the queue that keeps a
// slow delivery off the stream threads; output files never written through a planted link.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/image.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {
namespace {

namespace fs = std::filesystem;

core::Alert sample_alert() {
  core::Alert a;
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

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// True once /proc/<pid> is gone or a zombie (killed; its reaper may be slow).
bool process_gone(pid_t pid, double within_s) {
  const auto t0 = std::chrono::steady_clock::now();
  do {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    if (stat.empty() || close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (seconds_since(t0) < within_s);
  return false;
}

TEST(AlertCommand, IsKilledWithEverythingItStartedAfterItsTimeLimit) {
  const fs::path d = temp_dir("cmd-limit");
  // The shell starts a background child, then waits: both must go at the limit.
  auto cmd = make_alert_command(
      "sleep 30 & echo $! > '" + (d / "child.pid").string() + "'; sleep 30", /*timeout_s=*/1.0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(cmd->deliver(sample_alert()));
  const double s = seconds_since(t0);
  EXPECT_GE(s, 0.9);
  EXPECT_LT(s, 3.5);  // the limit, plus at most the 1 s TERM-to-KILL grace
  EXPECT_EQ(cmd->failures(), 1);
  const pid_t child = std::stoi(slurp(d / "child.pid"));
  EXPECT_TRUE(process_gone(child, 2.0))
      << "the command's background child " << child << " outlived the limit";
  ::kill(child, SIGKILL);  // in case it did
  fs::remove_all(d);
}

TEST(AlertCommand, InheritsOnlyStdinStdoutAndStderr) {
  const fs::path d = temp_dir("cmd-fds");
  // Descriptors the monitor may hold without close-on-exec (a library's socket, a file opened
  // with fopen): the command must still not see them.
  const int leaky = ::open((d / "output.jsonl").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(leaky, 0);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  // exec: ls replaces the shell, so the list is what the command got (the shell saves its own
  // stdout on a high descriptor around a redirection, which is not an inherited one); ls's
  // own handle on the directory points at /proc/<pid>/fd and is left out below.
  auto cmd = make_alert_command("exec ls -l /proc/self/fd > '" + (d / "fds.txt").string() + "'");
  EXPECT_TRUE(cmd->deliver(sample_alert()));
  ::close(leaky);
  ::close(p[0]);
  ::close(p[1]);
  std::istringstream in(slurp(d / "fds.txt"));
  std::vector<int> fds;
  for (std::string line; std::getline(in, line);) {
    const auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    const std::string target = line.substr(arrow + 4);
    const auto sp = line.rfind(' ', arrow - 1);
    const int fd = std::stoi(line.substr(sp + 1, arrow - sp - 1));
    if (fd > 2 && target.rfind("/proc/", 0) == 0 && target.size() > 3 &&
        target.compare(target.size() - 3, 3, "/fd") == 0)
      continue;
    if (fd > 2) ADD_FAILURE() << "inherited descriptor: " << line;
    fds.push_back(fd);
  }
  EXPECT_FALSE(fds.empty()) << slurp(d / "fds.txt");
  fs::remove_all(d);
}

// Records what it gets, in order, at once.
class Recorder final : public AlertDelivery {
 public:
  std::string_view name() const override { return "recorder"; }
  bool deliver(const core::Alert& a) override {
    std::lock_guard lock(mu);
    got.push_back(a.window_id);
    return true;
  }
  std::mutex mu;
  std::vector<std::int64_t> got;
};

TEST(QueuedDelivery, ASlowCommandHoldsUpNeitherTheCallerNorOtherDeliveries) {
  auto recorder_owned = std::make_unique<Recorder>();
  Recorder* recorder = recorder_owned.get();
  QueuedDelivery slow(make_alert_command("sleep 30", /*timeout_s=*/1.0));
  QueuedDelivery fast(std::move(recorder_owned));
  core::Alert a = sample_alert();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    a.window_id = i;
    EXPECT_TRUE(slow.deliver(a));
    EXPECT_TRUE(fast.deliver(a));
  }
  EXPECT_LT(seconds_since(t0), 0.2) << "deliver() waited for the command";
  ASSERT_TRUE(fast.wait_idle(std::chrono::milliseconds(500)))
      << "the other delivery waited for the slow command";
  {
    std::lock_guard lock(recorder->mu);
    EXPECT_EQ(recorder->got, (std::vector<std::int64_t>{0, 1, 2}));
  }
  // The slow one: each run killed at its 1 s limit, one after the other.
  ASSERT_TRUE(slow.wait_idle(std::chrono::seconds(12)));
  EXPECT_EQ(slow.delivery_failures(), 3);
  EXPECT_EQ(slow.dropped(), 0);
}

TEST(QueuedDelivery, DropsAndCountsWhatDoesNotFit) {
  QueuedDelivery q(make_alert_command("sleep 30", /*timeout_s=*/0.5), /*capacity=*/2,
                   /*drain_s=*/0);
  int accepted = 0;
  for (int i = 0; i < 6; ++i) accepted += q.deliver(sample_alert()) ? 1 : 0;
  // One may already be running, two wait: the rest are dropped.
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);
  EXPECT_EQ(q.dropped(), 6 - accepted);
}

TEST(AlertLog, RefusesASymbolicLinkInsteadOfWritingThroughIt) {
  const fs::path d = temp_dir("log-link");
  { std::ofstream(d / "victim.txt") << "precious\n"; }
  fs::create_symlink(d / "victim.txt", d / "alerts.jsonl");
  try {
    auto log = make_alert_log(d / "alerts.jsonl");
    ADD_FAILURE() << "a link was opened";
    log->deliver(sample_alert());
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  // A FIFO is refused too, without blocking.
  ASSERT_EQ(::mkfifo((d / "fifo.jsonl").c_str(), 0600), 0);
  EXPECT_THROW(make_alert_log(d / "fifo.jsonl"), Error);
  EXPECT_EQ(slurp(d / "victim.txt"), "precious\n");
  fs::remove_all(d);
}

TEST(Snapshot, ReplacesAPlantedLinkNeverWritesThroughIt) {
  const fs::path d = temp_dir("snap-link");
  { std::ofstream(d / "victim.txt") << "precious\n"; }
  const fs::path snap = d / "cam1-person-17.jpg";
  fs::create_symlink(d / "victim.txt", snap);
  // The old temporary name, planted too.
  fs::create_symlink(d / "victim.txt", snap.string() + ".tmp");
  core::Image img(32, 16, core::PixelFormat::kRgb8);
  EXPECT_EQ(write_snapshot_jpeg(img, snap), snap.string());
  EXPECT_EQ(slurp(d / "victim.txt"), "precious\n");
  EXPECT_FALSE(fs::is_symlink(snap));
  const std::string jpeg = slurp(snap);
  ASSERT_GE(jpeg.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[1]), 0xD8);
  fs::remove_all(d);
}

TEST(UrlOrigin, DropsCredentialsAndPath) {
  EXPECT_EQ(url_origin("https://bob:pw@hooks.example.com:8443/a/b?token=x"),
            "https://hooks.example.com:8443");
}

}  // namespace
}  // namespace framescribe::sinks
