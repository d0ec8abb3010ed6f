// The monitor's status page, served by the real MonitorHttp on 127.0.0.1 and fetched over HTTP
// (and, when Chromium is installed, rendered by it, a screenshot kept in $FS_ARTIFACT_DIR): each
// stream's recent history (the last descriptions, alerts and gaps, newest first), figures rounded
// for people, a link to /metrics.
#include <gtest/gtest.h>

#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "framescribe/sinks/status_board.h"
#include "framescribe/sinks/status_http.h"

namespace framescribe::sinks {
namespace {

constexpr std::int64_t kT0 = 1'764'900'000'000'000'000;  // 2025-12-05T02:00:00Z
constexpr std::int64_t kS = 1'000'000'000;

// A board with one stream: 12 descriptions (latency 2.3138474 s and more digits), 3 alerts, 2
// gaps. Only the last 10 descriptions are kept.
MonitorBoard& filled_board(MonitorBoard& board) {
  const int i = board.add_stream("rtsp://cam/live");
  for (int k = 1; k <= 12; ++k)
    board.add_description(i,
                          HistoryItem{kT0 + k * 10 * kS, "description number " + std::to_string(k),
                                      2.3138474 + 0.001 * k});
  for (int k = 1; k <= 3; ++k) board.add_alert(i, "alert number " + std::to_string(k));
  board.add_gap(i, HistoryItem{kT0 + 50 * kS, "end of stream", 12.345678});
  board.add_gap(i, HistoryItem{kT0 + 90 * kS, "stall", 3.14159});
  board.update(i, [](StreamStatus& s) {
    s.connected = true;
    s.latency_s = 2.3138474;
  });
  return board;
}

std::size_t at(const std::string& page, const std::string& what) {
  const std::size_t p = page.find(what);
  EXPECT_NE(p, std::string::npos) << "missing: " << what << "\n" << page;
  return p;
}

void check_history(const std::string& page) {
  // The last 10 descriptions, newest first; the two oldest dropped.
  std::size_t last = 0;
  for (int k = 12; k >= 3; --k) {
    const std::size_t p = at(page, "description number " + std::to_string(k) + "<");
    EXPECT_GT(p, last) << k << " out of order";
    last = p;
  }
  EXPECT_EQ(page.find("description number 2<"), std::string::npos);
  EXPECT_EQ(page.find("description number 1<"), std::string::npos);
  // Alerts and gaps, newest first.
  EXPECT_LT(at(page, "alert number 3"), at(page, "alert number 1"));
  EXPECT_LT(at(page, "(stall)"), at(page, "(end of stream)"));
  // Rounded: 2.31 s (the health line and the newest entry, 2.3258474), 12.35 s, 3.14 s; never
  // the raw digits.
  at(page, "2.31 s");
  at(page, "2.33 s");
  at(page, "12.35 s");
  at(page, "3.14 s");
  EXPECT_EQ(page.find("2.3138474"), std::string::npos);
  EXPECT_EQ(page.find("12.345678"), std::string::npos);
  // Times of day in UTC: the newest description's (kT0 + 120 s).
  at(page, "2025-12-05 02:02:00Z");
  at(page, "href=\"/metrics\"");
}

TEST(StatusPage, ShowsRecentHistoryNewestFirstWithRoundedFigures) {
  MonitorBoard board;
  filled_board(board);
  MonitorHttp http(board, "127.0.0.1", 0);
  httplib::Client client("127.0.0.1", http.port());
  client.set_connection_timeout(2);
  auto res = client.Get("/");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  check_history(res->body);
  // The same history in /status.json, newest first, exact.
  auto js = client.Get("/status.json");
  ASSERT_TRUE(js);
  const auto j = nlohmann::json::parse(js->body);
  ASSERT_EQ(j[0]["recent_descriptions"].size(), MonitorBoard::kRecent);
  EXPECT_EQ(j[0]["recent_descriptions"][0]["text"], "description number 12");
  EXPECT_EQ(j[0]["recent_gaps"][0]["text"], "stall");

  // Rendered by Chromium: the entries are in the DOM it builds.
  const char* env = std::getenv("FS_CHROMIUM");
  const std::string chromium = env != nullptr && *env != '\0' ? env : "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) GTEST_SKIP() << chromium << " not found";
  const std::filesystem::path profile =
      std::filesystem::temp_directory_path() / ("fs-status-page-" + std::to_string(::getpid()));
  const std::string cmd = "timeout -k 5 45 '" + chromium +
                          "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                          "--no-first-run --user-data-dir='" +
                          profile.string() +
                          "' --dump-dom --virtual-time-budget=1000 "
                          "http://127.0.0.1:" +
                          std::to_string(http.port()) + "/ 2>/dev/null";
  std::string dom;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t k; (k = fread(buf, 1, sizeof buf, p)) > 0;) dom.append(buf, k);
    pclose(p);
  }
  ASSERT_FALSE(dom.empty()) << "chromium printed nothing";
  check_history(dom);
  // A screenshot for people to look at (kept in $FS_ARTIFACT_DIR when set).
  const std::filesystem::path png = profile / "status-history.png";
  const std::string shot =
      "timeout -k 5 45 '" + chromium +
      "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
      "--no-first-run --hide-scrollbars --user-data-dir='" +
      profile.string() + "' --window-size=1280,1400 --virtual-time-budget=1000 --screenshot='" +
      png.string() + "' http://127.0.0.1:" + std::to_string(http.port()) + "/ >/dev/null 2>&1";
  EXPECT_EQ(std::system(shot.c_str()), 0);
  std::string bytes;
  if (FILE* f = std::fopen(png.c_str(), "rb")) {
    char buf[4096];
    for (std::size_t k; (k = fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, k);
    std::fclose(f);
  }
  EXPECT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* art = std::getenv("FS_ARTIFACT_DIR"); art != nullptr && *art != '\0') {
    std::filesystem::create_directories(art);
    std::filesystem::copy_file(png, std::filesystem::path(art) / "monitor-status-history.png",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
}

// /metrics over HTTP: the engine's reuse counters always; the step scheduler's only when the
// streams are batched (EngineStatus::batched), each with its HELP and TYPE.
TEST(StatusPage, MetricsGiveTheSchedulerCountersWhenBatched) {
  MonitorBoard board;
  board.add_stream("cam1");
  EngineStatus e;
  e.prompt_tokens = 900;
  e.prefilled_tokens = 500;
  e.frames = 40;
  e.frames_encoded = 10;
  board.set_engine(e);
  MonitorHttp http(board, "127.0.0.1", 0);
  httplib::Client client("127.0.0.1", http.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_NE(res->body.find("\nframescribe_engine_prefilled_tokens_total 500\n"), std::string::npos)
      << res->body;
  EXPECT_EQ(res->body.find("framescribe_engine_steps_total"), std::string::npos) << res->body;

  e.batched = true;
  e.steps = 12;
  e.step_rows = 3456;
  e.max_step_rows = 512;
  e.preemptions = 2;
  e.recomputed_tokens = 77;
  board.set_engine(e);
  res = client.Get("/metrics");
  ASSERT_TRUE(res && res->status == 200);
  for (const char* line :
       {"\nframescribe_engine_steps_total 12\n", "\nframescribe_engine_step_rows_total 3456\n",
        "\nframescribe_engine_step_rows_max 512\n", "\nframescribe_engine_preemptions_total 2\n",
        "\nframescribe_engine_recomputed_tokens_total 77\n",
        "# TYPE framescribe_engine_steps_total counter\n",
        "# TYPE framescribe_engine_step_rows_max gauge\n",
        "# HELP framescribe_engine_preemptions_total "})
    EXPECT_NE(res->body.find(line), std::string::npos) << line << "\n" << res->body;
}

}  // namespace
}  // namespace framescribe::sinks
