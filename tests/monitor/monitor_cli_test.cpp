// `framescribe monitor` end to end: two RTSP streams from an in-process server (one URL with a
// user, a password and a ?token= query secret), fixture A's tiny model, alerts to a webhook on a
// local cpp-httplib server and to a slow --alert-command, the status page checked in headless
// Chromium (DOM per stream, screenshot kept in $FS_ARTIFACT_DIR when set), /metrics parsed by a
// strict Prometheus text parser, one outage recorded as a gap, and the URL's secrets in no log
// line, no output file or file name, no page served. (Local files, planted links, the demo
// model and option names: monitor_cli_local_test.cpp.)
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
#include "monitor/monitor_cli_util.h"
#include "monitor/rtsp_server.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

const std::string kUser = "alice-user";
const std::string kPassword = "s3cr3t-pw0rd";
const std::string kToken = "T0KEN-v4lue-9f3e";

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
  // The shared engine's reuse counters (issue 24): frames of overlapping windows from the cache.
  EXPECT_GT(metrics["framescribe_engine_frames_total"], 0) << metrics_text;
  EXPECT_GT(metrics["framescribe_engine_frames_encoded_total"], 0);
  EXPECT_LE(metrics["framescribe_engine_frames_encoded_total"],
            metrics["framescribe_engine_frames_total"]);
  EXPECT_GT(metrics["framescribe_engine_prefilled_tokens_total"], 0);
  EXPECT_LE(metrics["framescribe_engine_prefilled_tokens_total"],
            metrics["framescribe_engine_prompt_tokens_total"]);
  // The two streams batched step by step (the default on the CPU): the scheduler's counters.
  EXPECT_GT(metrics["framescribe_engine_steps_total"], 0) << metrics_text;
  EXPECT_GE(metrics["framescribe_engine_step_rows_total"],
            metrics["framescribe_engine_steps_total"]);
  EXPECT_GE(metrics["framescribe_engine_step_rows_max"], 1);
  EXPECT_LE(metrics["framescribe_engine_step_rows_max"], 512);
  EXPECT_TRUE(metrics.count("framescribe_engine_preemptions_total"));
  EXPECT_TRUE(metrics.count("framescribe_engine_recomputed_tokens_total"));

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
}  // namespace
}  // namespace framescribe::testing
