// sinks/monitor_outputs.h (the monitor's out folder, alert deliveries, status lines) and
// pipeline/live/live_settings.h (the command line's window and alert settings as LiveOptions).
#include "framescribe/sinks/monitor_outputs.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/live/live_settings.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const char* name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  return d;
}

TEST(PrepareMonitorOut, MakesTheFolderAndSnapshotsOnlyWhenAsked) {
  const fs::path d = fresh_dir("fs_monitor_out_test");
  sinks::prepare_monitor_out({}, true);  // no --out: nothing
  sinks::prepare_monitor_out(d / "a", false);
  EXPECT_TRUE(fs::is_directory(d / "a"));
  EXPECT_FALSE(fs::exists(d / "a" / "snapshots"));
  sinks::prepare_monitor_out(d / "b", true);
  EXPECT_TRUE(fs::is_directory(d / "b" / "snapshots"));
  fs::remove_all(d);
}

TEST(PrepareMonitorOut, RefusesASnapshotsLink) {
  const fs::path d = fresh_dir("fs_monitor_out_link_test");
  fs::create_directories(d / "out");
  fs::create_directories(d / "elsewhere");
  fs::create_directory_symlink(d / "elsewhere", d / "out" / "snapshots");
  try {
    sinks::prepare_monitor_out(d / "out", true);
    FAIL() << "a linked snapshots folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  sinks::prepare_monitor_out(d / "out", false);  // without alerts no snapshots are written
  fs::remove_all(d);
}

TEST(MakeAlertDeliveries, OnePerTargetInOrder) {
  const fs::path d = fresh_dir("fs_monitor_deliveries_test");
  fs::create_directories(d);
  EXPECT_TRUE(sinks::make_alert_deliveries({}).empty());
  const auto all = sinks::make_alert_deliveries(
      {.out = d, .webhook = {.url = "http://127.0.0.1:9/hook"}, .command = "true"});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->name(), "alert log");
  EXPECT_EQ(all[1]->name(), "webhook");
  EXPECT_EQ(all[2]->name(), "command");
  const auto command_only = sinks::make_alert_deliveries({.command = "true"});
  ASSERT_EQ(command_only.size(), 1u);
  EXPECT_EQ(command_only[0]->name(), "command");
  fs::remove_all(d);
}

TEST(StreamLines, StatusAndEnd) {
  sinks::StreamStatus b{.name = "cam1",
                        .windows_done = 11,
                        .windows_dropped = 1,
                        .alerts_fired = 4,
                        .latency_s = 1.25,
                        .frames_received = 120,
                        .frames_dropped = 3,
                        .reconnects = 2,
                        .gaps = 5,
                        .connected = true};
  EXPECT_EQ(sinks::stream_status_line(b),
            "cam1: up, 120 frames (3 dropped), 11 windows (1 dropped), latency 1.2 s, 2 "
            "reconnects, 4 alerts");
  b.connected = false;
  EXPECT_EQ(sinks::stream_status_line(b).substr(0, 11), "cam1: DOWN,");
  EXPECT_EQ(sinks::stream_end_line(b), "cam1: 120 frames, 11 windows, 1 dropped, 5 gaps");
}

TEST(LiveOptionsFromSettings, TimesFramesAndAlertRules) {
  pipeline::LiveSettings s;
  s.every_s = 5;
  s.window_s = 20;
  s.sample_s = 0.5;
  s.max_pending = 0;  // at least one
  s.alerts = {"person=Is there a person?", "Is it dark?"};
  s.alert_threshold = 0.7;
  s.alert_need = 2;
  s.alert_of = 3;
  s.alert_cooldown_s = 30;
  const pipeline::LiveOptions lo = pipeline::live_options(s, 64);
  EXPECT_EQ(lo.every_ns, 5'000'000'000);
  EXPECT_EQ(lo.window_ns, 20'000'000'000);
  EXPECT_EQ(lo.sample_interval_ns, 500'000'000);
  EXPECT_EQ(lo.max_frames_per_window, 8);
  EXPECT_EQ(lo.max_pending_windows, 1u);
  EXPECT_EQ(lo.answer_reserve_tokens, 64);
  ASSERT_EQ(lo.alerts.size(), 2u);
  EXPECT_EQ(lo.alerts[0].name, "person");
  EXPECT_EQ(lo.alerts[1].name, "alert2");
  EXPECT_EQ(lo.alerts[1].question, "Is it dark?");
  for (const pipeline::AlertRule& r : lo.alerts) {
    EXPECT_EQ(r.threshold, 0.7);
    EXPECT_EQ(r.need, 2);
    EXPECT_EQ(r.of, 3);
    EXPECT_EQ(r.cooldown_ns, 30'000'000'000);
  }
  s.frames = 12;  // a window of the last 12 frames takes all 12
  EXPECT_EQ(pipeline::live_options(s, 64).max_frames_per_window, 12);
}

TEST(LiveOptionsFromSettings, BadValuesNameTheirOption) {
  const auto message = [](const pipeline::LiveSettings& s) {
    try {
      (void)pipeline::live_options(s, 64);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  pipeline::LiveSettings s;
  s.every_s = -1;
  EXPECT_NE(message(s).find("--interval"), std::string::npos) << message(s);
  s = {};
  s.sample_s = 1e300;
  EXPECT_NE(message(s).find("--sample"), std::string::npos) << message(s);
  s = {};
  s.alerts = {"q"};
  s.alert_cooldown_s = -5;
  EXPECT_NE(message(s).find("--alert-cooldown"), std::string::npos) << message(s);
  s = {};
  s.alerts = {"q"};
  s.alert_need = 3;  // 3 of 1: refused by validate
  EXPECT_NE(message(s), "accepted");
}

}  // namespace
}  // namespace framescribe
