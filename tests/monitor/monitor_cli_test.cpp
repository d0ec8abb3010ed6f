// `framescribe monitor` end to end: two RTSP streams from an in-process server (one URL with a
// user, a password and a ?token= query secret), fixture A's tiny model, alerts to a webhook on a
// local cpp-httplib server and to a slow --alert-command, the status page checked in headless
// Chromium (DOM per stream, screenshot kept in $FS_ARTIFACT_DIR when set), /metrics parsed by a
// strict Prometheus text parser, one outage recorded as a gap, and the URL's secrets in no log
// line, no output file or file name, no page served. Planted symbolic links in --out are never
// written through.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <ctime>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "apps/tiny_model.h"
#include "decoder/video_clips.h"
#include "inference/test_files.h"
#include "monitor/rtsp_server.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

const std::string kUser = "alice-user";
const std::string kPassword = "s3cr3t-pw0rd";
const std::string kToken = "T0KEN-v4lue-9f3e";

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A strict reader of the Prometheus text format (0.0.4): every line is a HELP, a TYPE or a
// sample; names and label names are valid; label values are quoted with only \\, \" and \n
// escapes; values are floats; a family's TYPE comes before its samples and once only; counters
// end in _total and are >= 0; no series twice. Returns series -> value; fails the test on error.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> out;
  std::map<std::string, std::string> types;
  const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  const std::regex type(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|[-+]?Inf))$)");
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the exposition ends with a newline";
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (std::regex_match(line, m, help)) continue;
    if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "line " << n << " is not Prometheus text: " << line;
      continue;
    }
    const std::string name = m[1];
    const auto t = types.find(name);
    EXPECT_NE(t, types.end()) << "sample before its TYPE: " << line;
    const double v = std::stod(m[5]);
    if (t != types.end() && t->second == "counter") {
      EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
      EXPECT_GE(v, 0) << line;
    }
    const std::string series = name + m[2].str();
    EXPECT_TRUE(out.emplace(series, v).second) << "series twice: " << series;
  }
  return out;
}

TEST(MonitorCli, StreamsPageMetricsAlertsGapsAndNoCredentials) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  RtspTestServer server;
  const std::string secret_url = server.url(kUser + ":" + kPassword) + "?token=" + kToken;
  const std::string plain_url = server.url() + "?second";
  // How the streams are named everywhere (core::redact_source): no user-info, no query values.
  const std::string secret_name = server.url() + "?token=***";
  const std::string plain_name = server.url() + "?***";
  const int http_port = free_port();
  const fs::path out = dir / "out";
  // Links planted where snapshots will go (<stem>-<rule>-<window>.jpg; both URLs' stem is
  // "test"): each must be replaced, the file they point at never written.
  const fs::path victim = dir / "victim.txt";
  { std::ofstream(victim) << "precious\n"; }
  fs::create_directories(out / "snapshots");
  for (const std::string stem : {"test", "test-2"})
    for (int w = 0; w < 60; ++w)
      fs::create_symlink(victim,
                         out / "snapshots" / (stem + "-door-" + std::to_string(w) + ".jpg"));

  // The webhook receiver.
  httplib::Server hook;
  std::mutex mu;
  std::vector<std::string> hook_bodies;
  hook.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    hook_bodies.push_back(req.body);
    res.status = 200;
  });
  const int hook_port = hook.bind_to_any_port("127.0.0.1");
  std::thread hook_thread([&] { hook.listen_after_bind(); });
  // On any early exit (a failed ASSERT, an exception) the threads are still joined.
  struct Finally {
    std::function<void()> fn;
    ~Finally() { fn(); }
  };
  std::thread cli;
  Finally join_all{[&] {
    if (cli.joinable()) cli.join();
    hook.stop();
    if (hook_thread.joinable()) hook_thread.join();
  }};

  CliRun run;
  cli = std::thread([&] {
    run = run_framescribe(
        {"monitor", secret_url, plain_url, "--model", model.string(), "-t", "1", "--interval", "1",
         "--window", "2", "--sample", "0.5", "--max-edge", "64", "-n", "8", "--alert",
         "door=Is the door open? Answer yes or no.", "--alert-threshold", "0", "--webhook",
         "http://127.0.0.1:" + std::to_string(hook_port) + "/hook",
         // Slower than the run: killed at its limit, holding up nothing.
         "--alert-command", "sleep 30", "--alert-command-timeout", "2", "--out", out.string(),
         "--http", "127.0.0.1:" + std::to_string(http_port), "--duration", "30", "--status-every",
         "2", "--stall-timeout", "3", "--backoff-initial", "0.1", "--backoff-max", "0.5"},
        dir / "stderr.txt");
  });

  // Wait until both streams have descriptions.
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(1);
  std::map<std::string, double> metrics;
  std::string metrics_text;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) continue;
    metrics_text = res->body;
    int ready = 0;
    for (const std::string& s : {secret_name, plain_name}) {
      const std::regex r("framescribe_windows_done_total\\{stream=\"" +
                         std::regex_replace(s, std::regex(R"([.?*+^$()\[\]{}|\\/])"), R"(\$&)") +
                         "\"\\} ([0-9]+)");
      std::smatch m;
      if (std::regex_search(metrics_text, m, r) && std::stoi(m[1]) > 0) ++ready;
    }
    if (ready == 2) break;
  }
  metrics = parse_prometheus(metrics_text);
  // The stream with credentials is named without them.
  const std::string redacted = "{stream=\"" + secret_name + "\"}";
  EXPECT_GT(metrics["framescribe_windows_done_total" + redacted], 0) << metrics_text;
  EXPECT_GT(metrics["framescribe_frames_received_total" + redacted], 0);
  EXPECT_EQ(metrics["framescribe_connected" + redacted], 1);
  EXPECT_TRUE(metrics.count("framescribe_latency_seconds" + redacted));
  EXPECT_TRUE(metrics.count("framescribe_windows_dropped_total" + redacted));
  EXPECT_TRUE(metrics.count("framescribe_reconnects_total" + redacted));
  EXPECT_TRUE(metrics.count("framescribe_alerts_total" + redacted));
  EXPECT_EQ(metrics_text.find(kPassword), std::string::npos);

  // An alert has fired (threshold 0) and its command sleeps: descriptions of both streams go
  // on regardless (before, the command ran under a lock every stream's alerts shared).
  auto windows_now = [&](std::string* text) {
    std::map<std::string, double> m;
    for (int i = 0; i < 50; ++i) {
      auto res = client.Get("/metrics");
      if (res && res->status == 200) {
        if (text != nullptr) *text = res->body;
        return parse_prometheus(res->body);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return m;
  };
  for (int i = 0; i < 50; ++i) {
    const auto m = windows_now(nullptr);
    if (m.count("framescribe_alerts_total" + redacted) &&
        m.at("framescribe_alerts_total" + redacted) > 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  {
    const std::string plain_label = "{stream=\"" + plain_name + "\"}";
    auto before = windows_now(nullptr);
    EXPECT_GT(before["framescribe_alerts_total" + redacted], 0);
    std::this_thread::sleep_for(std::chrono::seconds(4));
    auto after = windows_now(nullptr);
    for (const std::string& label : {redacted, plain_label})
      EXPECT_GE(after["framescribe_windows_done_total" + label] -
                    before["framescribe_windows_done_total" + label],
                2)
          << label << ": descriptions stalled while the alert command ran";
  }
  // Every page the server serves, fetched over HTTP: no secret in any.
  std::map<std::string, std::string> pages;
  for (const char* path : {"/", "/metrics", "/status.json"}) {
    auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    pages[path] = res->body;
  }
  EXPECT_NE(pages["/"].find("data-stream=\"" + secret_name + "\""), std::string::npos)
      << pages["/"].substr(0, 2000);

  // The page in headless Chromium: one section per stream, its frame decoded, a description.
  const char* chromium_env = std::getenv("FS_CHROMIUM");
  const std::string chromium =
      chromium_env != nullptr && *chromium_env != '\0' ? chromium_env : "/usr/bin/chromium";
  if (fs::exists(chromium)) {
    const std::string browser = "timeout -k 5 45 " + shell_quote(chromium) +
                                " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                                "--no-first-run --hide-scrollbars --user-data-dir=" +
                                shell_quote((dir / "profile").string());
    const std::string page = "http://127.0.0.1:" + std::to_string(http_port) + "/";
    const std::string dom_cmd =
        browser + " --dump-dom --virtual-time-budget=2000 " + shell_quote(page) + " 2>/dev/null";
    std::string dom;
    if (FILE* p = popen(dom_cmd.c_str(), "r")) {
      char buf[4096];
      for (std::size_t k; (k = fread(buf, 1, sizeof buf, p)) > 0;) dom.append(buf, k);
      pclose(p);
    }
    EXPECT_NE(dom.find("data-frames-loaded=\"2\""), std::string::npos) << dom.substr(0, 3000);
    for (const std::string& s : {secret_name, plain_name}) {
      const std::string q = std::regex_replace(s, std::regex("&"), "&amp;");
      EXPECT_NE(dom.find("data-stream=\"" + q + "\""), std::string::npos) << s;
    }
    // Each stream's section: its frame, healthy, a non-empty description.
    int sections = 0;
    for (std::size_t at = dom.find("<section class=\"stream\""); at != std::string::npos;
         at = dom.find("<section class=\"stream\"", at + 1)) {
      const std::size_t end = dom.find("</section>", at);
      ASSERT_NE(end, std::string::npos);
      const std::string sec = dom.substr(at, end - at);
      const std::size_t d = sec.find("<p class=\"description\">");
      if (sec.find("<img class=\"frame\"") != std::string::npos &&
          sec.find("<p class=\"health ok\">") != std::string::npos && d != std::string::npos &&
          sec.compare(d + 23, 4, "</p>") != 0)
        ++sections;
    }
    EXPECT_EQ(sections, 2) << dom.substr(0, 3000);
    EXPECT_EQ(dom.find(kPassword), std::string::npos);
    const char* art = std::getenv("FS_ARTIFACT_DIR");
    const fs::path shot =
        (art != nullptr && *art != '\0' ? fs::path(art) : dir.path()) / "monitor-page.png";
    if (art != nullptr && *art != '\0') fs::create_directories(art);
    const std::string shot_cmd = browser +
                                 " --window-size=1280,900 --virtual-time-budget=2000 "
                                 "--screenshot=" +
                                 shell_quote(shot.string()) + " " + shell_quote(page) +
                                 " >/dev/null 2>&1";
    EXPECT_EQ(std::system(shot_cmd.c_str()), 0);
    EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 1000) << shot;
  } else {
    std::printf("%s not found: the browser part is skipped\n", chromium.c_str());
  }

  // One outage: both streams record a gap and come back.
  server.stop();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  server.start();
  cli.join();
  hook.stop();
  hook_thread.join();

  ASSERT_EQ(run.exit_code, 0) << run.err;
  // No credentials anywhere: stdout, stderr, every file written and its name, every page.
  for (const std::string& secret : {kUser, kPassword, kToken}) {
    EXPECT_EQ(run.out.find(secret), std::string::npos) << "stdout";
    EXPECT_EQ(run.err.find(secret), std::string::npos) << "stderr";
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      EXPECT_EQ(e.path().string().find(secret), std::string::npos) << e.path();
      if (e.is_regular_file()) {
        EXPECT_EQ(read_file(e.path()).find(secret), std::string::npos) << e.path();
      }
    }
    for (const auto& [path, body] : pages) EXPECT_EQ(body.find(secret), std::string::npos) << path;
    std::lock_guard lock(mu);
    for (const std::string& b : hook_bodies) EXPECT_EQ(b.find(secret), std::string::npos);
  }
  // Descriptions per stream, gaps, alerts (threshold 0: one episode, so one alert per stream).
  int description_files = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().string().ends_with(".descriptions.jsonl")) {
      ++description_files;
      EXPECT_GT(read_file(e.path()).size(), 0u) << e.path();
    }
  EXPECT_EQ(description_files, 2);
  std::istringstream gaps_in(read_file(out / "gaps.jsonl"));
  int gap_lines = 0;
  for (std::string line; std::getline(gaps_in, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["type"], "gap");
    EXPECT_GT(j["seconds"].get<double>(), 1.0);
    ++gap_lines;
  }
  EXPECT_EQ(gap_lines, 2) << run.err;
  std::istringstream alerts_in(read_file(out / "alerts.jsonl"));
  int alert_lines = 0;
  for (std::string line; std::getline(alerts_in, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["rule"], "door");
    EXPECT_TRUE(fs::exists(j["snapshot"].get<std::string>()));
    ++alert_lines;
  }
  // One episode per stream; the outage resets the rule, so at most one more each.
  EXPECT_GE(alert_lines, 2);
  EXPECT_LE(alert_lines, 4);
  // The planted links: replaced by snapshots or left alone, never written through.
  EXPECT_EQ(read_file(victim), "precious\n");
  int replaced = 0;
  for (const auto& e : fs::directory_iterator(out / "snapshots"))
    if (!fs::is_symlink(e.path())) {
      const std::string jpeg = read_file(e.path());
      EXPECT_TRUE(jpeg.size() > 2 && static_cast<unsigned char>(jpeg[0]) == 0xFF) << e.path();
      ++replaced;
    }
  EXPECT_EQ(replaced, alert_lines);
  // The command ran for each alert and was killed at its 2 s limit.
  EXPECT_NE(run.err.find("alert command: killed"), std::string::npos) << run.err;
  std::lock_guard lock(mu);
  EXPECT_EQ(static_cast<int>(hook_bodies.size()), alert_lines);
  if (!hook_bodies.empty()) {
    EXPECT_EQ(nlohmann::json::parse(hook_bodies[0])["type"], "alert");
  }
}

// A link planted in --out where the monitor appends (alerts.jsonl, gaps.jsonl,
// <stem>.descriptions.jsonl) or where snapshots go: the monitor refuses to start, naming the
// file, and writes nothing through it.
TEST(MonitorCli, RefusesPlantedLinksInTheOutputDirectory) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path victim = dir / "victim.txt";
  for (const std::string planted :
       {"alerts.jsonl", "gaps.jsonl", "cam.descriptions.jsonl", "snapshots"}) {
    { std::ofstream(victim) << "precious\n"; }
    const fs::path out = dir / ("out-" + planted);
    fs::create_directories(out);
    if (planted == "snapshots")
      fs::create_directory_symlink(dir.path(), out / planted);
    else
      fs::create_symlink(victim, out / planted);
    // Nothing listens there: the monitor must stop before it would connect anyway.
    const CliRun run = run_framescribe(
        {"monitor", "rtsp://u:p@127.0.0.1:9/cam?token=x", "--model", model.string(), "-t", "1",
         "--alert", "door=Is the door open?", "--out", out.string(), "--duration", "5"},
        dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 1) << planted << "\n" << run.err;
    EXPECT_NE(run.err.find((out / planted).string()), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("symbolic link"), std::string::npos) << run.err;
    EXPECT_EQ(read_file(victim), "precious\n") << planted;
  }
}

// A 4 s clip (10 fps, 128x96) for the file tests, made once per test process.
fs::path four_second_clip() {
  std::string error;
  const auto clip = make_clip("four.mp4",
                              "-f lavfi -i testsrc=size=128x96:rate=10:duration=4 "
                              "-pix_fmt yuv420p",
                              &error);
  EXPECT_TRUE(clip.has_value()) << error;
  return clip.value_or(fs::path());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A local file that is not there fails at once, exit 1, naming it (before, the source retried
// it forever: the run went on until --duration and exited 0); a file that is not a video, or a
// directory, fails clearly too.
TEST(MonitorCli, AMissingOrBadLocalFileFailsAtOnce) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path missing = dir / "no-such-clip.mp4";
  const fs::path text = dir / "notes.mp4";
  { std::ofstream(text) << "this is not a video\n"; }
  struct Case {
    std::string url, names, says;
  };
  const std::vector<Case> cases = {
      {missing.string(), missing.string(), "no such file"},
      {"file://" + missing.string(), missing.string(), "no such file"},
      {text.string(), text.string(), "cannot play it as a video"},
      {dir.path().string(), dir.path().string(), "not a regular file"},
  };
  for (const Case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const CliRun run = run_framescribe(
        {"monitor", c.url, "--model", model.string(), "-t", "1", "--duration", "20"},
        dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 1) << c.url << "\n" << run.err;
    EXPECT_LT(seconds_since(t0), 10) << c.url;
    EXPECT_NE(run.err.find(c.names), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
  }
}

// ISO 8601 UTC with milliseconds ("2026-12-05T00:51:40.728Z") to ns since 1970.
std::int64_t parse_iso_ms(const std::string& s) {
  std::tm tm{};
  int ms = -1;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7 ||
      s.size() != 24)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000 + ms * 1'000'000LL;
}

std::int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A file is played like a live stream (ffmpeg's -re): a 4 s clip takes about 4 s, then the
// monitor ends (exit 0) instead of reconnecting; --no-realtime (or --realtime=false) reads it
// as fast as the engine goes, describing every window. Each description record carries the
// wall-clock time of its newest frame (ISO 8601 UTC and ns) beside the media times.
TEST(MonitorCli, FilesPlayInRealTimeUnlessToldNotAndRecordsCarryWallClock) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  const std::vector<std::string> common = {
      "--model",    model.string(), "-t", "1", "--interval", "1",  "--sample", "0.5",
      "--max-edge", "64",           "-n", "4", "--duration", "30", "--quiet"};
  auto monitor = [&](const std::string& out, std::vector<std::string> extra, double* wall) {
    std::vector<std::string> args = {"monitor", clip.string(), "--out", (dir / out).string()};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), extra.begin(), extra.end());
    const auto t0 = std::chrono::steady_clock::now();
    CliRun run = run_framescribe(args, dir / "stderr.txt");
    *wall = seconds_since(t0);
    return run;
  };
  double paced = 0, fast = 0, fast2 = 0;
  const std::int64_t before = wall_now_ns();
  const CliRun r1 = monitor("paced", {}, &paced);
  const std::int64_t after = wall_now_ns();
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_GE(paced, 3.5) << r1.err;
  EXPECT_LT(paced, 20) << r1.err;  // ended with the file, not at --duration
  const CliRun r2 = monitor("fast", {"--no-realtime"}, &fast);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  const CliRun r3 = monitor("fast2", {"--realtime=false"}, &fast2);
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_LT(fast, 2.5) << r2.err;
  EXPECT_LT(fast2, 2.5) << r3.err;
  std::printf("4 s clip: %.2f s paced, %.2f s and %.2f s as fast as possible\n", paced, fast,
              fast2);

  // Windows at 1, 2, 3 s of the clip and a last one at its end (3.5 s); none dropped when
  // reading as fast as possible.
  auto records = [&](const std::string& out) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(read_file(dir / out / "four.descriptions.jsonl"));
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  };
  EXPECT_EQ(records("fast").size(), 4u) << r2.err;
  const auto paced_records = records("paced");
  ASSERT_GE(paced_records.size(), 2u) << r1.err;
  std::int64_t previous = 0;
  for (std::size_t i = 0; i < paced_records.size(); ++i) {
    const auto& j = paced_records[i];
    ASSERT_TRUE(j.contains("wall_clock") && j.contains("wall_clock_ns")) << j.dump();
    const std::int64_t ns = j["wall_clock_ns"].get<std::int64_t>();
    EXPECT_GE(ns, before) << j.dump();
    EXPECT_LE(ns, after) << j.dump();
    EXPECT_EQ(parse_iso_ms(j["wall_clock"].get<std::string>()), ns / 1'000'000 * 1'000'000)
        << j.dump();
    // Paced: a window's newest frame comes about a second (--interval) after the previous
    // window's. The last record is the window the file's end makes of the frames since the one
    // before, which may be any part of an interval later (0.49994 s was seen), so it is only
    // checked to come later.
    if (previous != 0) {
      const bool last = i + 1 == paced_records.size();
      EXPECT_GT(ns - previous, last ? 0 : 500'000'000) << j.dump();
    }
    previous = ns;
    EXPECT_TRUE(j.contains("start") && j.contains("end")) << j.dump();
  }
}

// The longest edge of a baseline or progressive JPEG's frame (0 if none found).
int jpeg_longest_edge(const std::string& jpeg) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(jpeg[k]); };
    if (b(i) == 0xFF && (b(i + 1) == 0xC0 || b(i + 1) == 0xC1 || b(i + 1) == 0xC2)) {
      const int h = b(i + 5) << 8 | b(i + 6), w = b(i + 7) << 8 | b(i + 8);
      return std::max(w, h);
    }
  }
  return 0;
}

// Without --model the monitor uses the bundled demo model, as summarize does, with the settings
// its framescribe.json recommends (max_edge 64: the frames the page serves are 64 px on their
// longest edge, where monitor's own default is 512); global -q silences the notice.
TEST(MonitorCli, UsesTheDemoModelAndItsSettingsWhenNoModelIsGiven) {
  TempDir dir;
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  const int http_port = free_port();
  CliRun run;
  std::thread cli([&] {
    run = run_framescribe({"monitor", clip.string(), "-t", "1", "--interval", "1", "-n", "4",
                           "--http", "127.0.0.1:" + std::to_string(http_port), "--quiet"},
                          dir / "stderr.txt");
  });
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(1);
  int edge = 0;
  for (int i = 0; i < 40 && edge == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto res = client.Get("/frame/0.jpg"); res && res->status == 200)
      edge = jpeg_longest_edge(res->body);
  }
  cli.join();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("using the bundled demo model"), std::string::npos) << run.err;
  EXPECT_EQ(edge, 64);

  const CliRun quiet = run_framescribe(
      {"-q", "monitor", clip.string(), "-t", "1", "--no-realtime", "--quiet"}, dir / "stderr.txt");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("demo model"), std::string::npos) << quiet.err;
}

// The shared vocabulary: --interval (with --every still read, one warning naming --interval),
// -t/--threads/--engine-threads, --top-p/--temperature/--seed.
TEST(MonitorCli, SharedOptionNamesAndTheOldEvery) {
  TempDir dir;
  const fs::path model = make_tiny_model(dir / "model");
  const fs::path clip = four_second_clip();
  ASSERT_FALSE(clip.empty());
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"--every", "2", "--threads", "1"},
           {"--interval", "2", "--engine-threads", "1", "--temperature", "0.7", "--top-p", "0.9",
            "--seed", "7"}}) {
    std::vector<std::string> args = {"monitor",       clip.string(), "--model", model.string(),
                                     "--no-realtime", "--quiet",     "-n",      "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliRun run = run_framescribe(args, dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const bool old = extra[0] == "--every";
    const std::size_t warned = run.err.find("--every is deprecated");
    EXPECT_EQ(warned != std::string::npos, old) << run.err;
    if (old) {
      EXPECT_NE(run.err.find("--interval", warned), std::string::npos) << run.err;
      EXPECT_EQ(run.err.find("--every is deprecated", warned + 1), std::string::npos) << run.err;
    }
  }
  const CliRun both = run_framescribe(
      {"monitor", clip.string(), "--model", model.string(), "--every", "2", "--interval", "2"},
      dir / "stderr.txt");
  EXPECT_EQ(both.exit_code, 2) << both.err;
  for (const std::string bad : {"0", "1.5", "x"}) {
    const CliRun run = run_framescribe(
        {"monitor", clip.string(), "--model", model.string(), "--top-p", bad}, dir / "stderr.txt");
    EXPECT_EQ(run.exit_code, 2) << bad << "\n" << run.err;
    EXPECT_NE(run.err.find("--top-p"), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace framescribe::testing
