// The live job with fakes: windows every N seconds of the last S seconds, alerts scored per
// window (before its description) and fired once per episode, drop-oldest under load with
// bounded latency, gaps reported and never spanned by a window.
#include <gtest/gtest.h>

#include <thread>

#include "framescribe/pipeline/engine_scheduler.h"
#include "framescribe/pipeline/live/live_job.h"
#include "monitor/live_fakes.h"

namespace framescribe::pipeline {
namespace {

using testing::RecordingObserver;
using testing::ScriptedEngine;
using testing::ScriptedLiveSource;
constexpr std::int64_t kS = 1'000'000'000;

LiveOptions every_second(std::size_t pending = 100) {
  LiveOptions o;
  o.every_ns = kS;
  o.window_ns = 3 * kS;
  o.sample_interval_ns = kS;
  o.max_pending_windows = pending;
  return o;
}

TEST(LiveJob, WindowsEveryNSecondsOfTheLastS) {
  ScriptedEngine engine;
  RecordingObserver obs;
  testing::RecordingSink sink;
  // 20 frames at 4 per second; sampled at 1 s; a window each second of the last 3 s.
  ScriptedLiveSource src(20 * 4, kS / 4);
  LiveJob job("cam", engine, nullptr, every_second(), {&sink}, &obs);
  core::StopFlag stop;
  core::RunInfo info;
  info.video = "cam";
  job.run(src, info, stop);
  const LiveStats st = job.stats();
  EXPECT_EQ(st.frames_received, 80);
  EXPECT_EQ(st.frames_sampled, 20);
  EXPECT_EQ(st.windows_made, 19);  // at 1 s, 2 s, ..., 19 s
  EXPECT_EQ(st.windows_done, 19);
  EXPECT_EQ(st.windows_dropped, 0);
  ASSERT_EQ(engine.plans.size(), 19u);
  for (const WindowPlan& p : engine.plans) {
    ASSERT_FALSE(p.frames.empty());
    const std::int64_t newest = p.frames.back().frame.pts_ns;
    EXPECT_LE(p.frames.size(), 3u);
    EXPECT_GT(p.frames.front().frame.pts_ns, newest - 3 * kS);  // the last 3 s only
  }
  EXPECT_EQ(sink.windows.size(), 19u);
  EXPECT_TRUE(sink.finished);
}

TEST(LiveJob, KFramesInsteadOfSSeconds) {
  ScriptedEngine engine;
  LiveOptions o = every_second();
  o.window_frames = 5;
  o.every_ns = 2 * kS;
  ScriptedLiveSource src(12, kS);
  LiveJob job("cam", engine, nullptr, o, {}, nullptr);
  core::StopFlag stop;
  job.run(src, {}, stop);
  ASSERT_FALSE(engine.plans.empty());
  EXPECT_EQ(engine.plans.back().frames.size(), 5u);
}

TEST(LiveJob, AlertsAreAskedBeforeTheDescriptionAndFireOncePerEpisode) {
  // Window i gets P(yes) = script[i]; need 2 of 3, threshold 0.6.
  ScriptedEngine engine({0.1, 0.7, 0.8, 0.9, 0.65, 0.2, 0.1, 0.3, 0.9, 0.95, 0.1});
  RecordingObserver obs;
  LiveOptions o = every_second();
  o.alerts.push_back(AlertRule{
      .name = "person", .question = "Is there a person?", .threshold = 0.6, .need = 2, .of = 3});
  ScriptedLiveSource src(12, kS);
  LiveJob job("cam", engine, &engine, o, {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  ASSERT_EQ(job.stats().windows_done, 11);
  // Hits: 1,2,3,4,8,9. Fires at window 2 (2 of {0,1,2}); at 6 the last 3 (4,5,6) hold one hit:
  // the episode is over; fires again at 9 (8 and 9).
  ASSERT_EQ(obs.alerts.size(), 2u);
  EXPECT_EQ(obs.alerts[0].window_id, 2);
  EXPECT_DOUBLE_EQ(obs.alerts[0].score, 0.8);
  EXPECT_EQ(obs.alerts[1].window_id, 9);
  EXPECT_EQ(obs.alerts[0].rule, "person");
  EXPECT_TRUE(obs.alerts[0].snapshot != nullptr);
  EXPECT_EQ(job.stats().alerts_fired, 2);
  // Each window: asked, then described.
  for (std::size_t i = 0; i + 1 < engine.calls.size(); i += 2) {
    EXPECT_EQ(engine.calls[i].rfind("ask ", 0), 0u) << engine.calls[i];
    EXPECT_EQ(engine.calls[i + 1].rfind("describe ", 0), 0u) << engine.calls[i + 1];
  }
}

TEST(LiveJob, CooldownHoldsBackTheNextEpisode) {
  ScriptedEngine engine({0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1});
  RecordingObserver obs;
  LiveOptions o = every_second();
  o.alerts.push_back(
      AlertRule{.name = "a", .question = "q?", .threshold = 0.5, .cooldown_ns = 5 * kS});
  ScriptedLiveSource src(9, kS);
  LiveJob job("cam", engine, &engine, o, {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  // Windows end at 2 s, 3 s, ...: fires at window 0, then not until 5 s later (window 6).
  ASSERT_EQ(obs.alerts.size(), 2u);
  EXPECT_EQ(obs.alerts[0].window_id, 0);
  EXPECT_EQ(obs.alerts[1].window_id, 6);
}

TEST(LiveJob, DropsTheOldestWindowsWhenTheEngineFallsBehind) {
  // Frames every 10 ms of real time but 1 s of stream time: a window every 10 ms, while the
  // engine takes 50 ms per window.
  ScriptedEngine engine({}, /*describe_ms=*/50);
  RecordingObserver obs;
  ScriptedLiveSource src(200, kS, std::chrono::microseconds(10'000));
  LiveJob job("cam", engine, nullptr, every_second(/*pending=*/2), {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  const LiveStats st = job.stats();
  EXPECT_GT(st.windows_dropped, 50);
  EXPECT_EQ(st.windows_done + st.windows_dropped, st.windows_made);
  for (std::size_t i = 1; i < obs.windows.size(); ++i)
    EXPECT_GT(obs.windows[i], obs.windows[i - 1]);
  // Bound: every (10 ms here) + (pending + 1) * 50 ms, plus scheduling slack.
  EXPECT_LT(st.max_latency_s, 0.010 + 3 * 0.050 + 0.150);
}

// A file read as fast as possible (monitor --no-realtime): the same load as above, but the
// reader waits for the engine, so no window is lost (before, wait_for_engine did not exist and
// the oldest windows were dropped as for a camera).
TEST(LiveJob, WaitForEngineDescribesEveryWindow) {
  ScriptedEngine engine({}, /*describe_ms=*/5);
  RecordingObserver obs;
  ScriptedLiveSource src(40, kS);
  LiveOptions o = every_second(/*pending=*/1);
  o.wait_for_engine = true;
  LiveJob job("cam", engine, nullptr, o, {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  const LiveStats st = job.stats();
  EXPECT_EQ(st.windows_made, 39);
  EXPECT_EQ(st.windows_dropped, 0);
  EXPECT_EQ(st.windows_done, 39);
}

// A source that ends by itself (a file played out) gets one last window of the frames since
// the previous one: 5 s of frames with a window every 10 s is described once (before: never).
TEST(LiveJob, ASourceThatEndsGetsALastWindow) {
  ScriptedEngine engine;
  RecordingObserver obs;
  ScriptedLiveSource src(5, kS);
  LiveOptions o = every_second();
  o.every_ns = 10 * kS;
  o.window_ns = 10 * kS;
  LiveJob job("cam", engine, nullptr, o, {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  ASSERT_EQ(engine.plans.size(), 1u);
  EXPECT_EQ(engine.plans[0].frames.size(), 5u);
  EXPECT_EQ(engine.plans[0].frames.back().frame.pts_ns, 4 * kS);
  // Stopped, a source makes no last window.
  ScriptedEngine engine2;
  ScriptedLiveSource src2(5, kS);
  LiveJob job2("cam", engine2, nullptr, o, {}, nullptr);
  core::StopFlag stopped;
  stopped.request(core::StopFlag::kFinishWindow);
  job2.run(src2, {}, stopped);
  EXPECT_TRUE(engine2.plans.empty());
}

// The observer learns each window's wall-clock time: that of its newest frame (the fake
// source's frames are at 1.7e18 ns + pts), beside the media times.
TEST(LiveJob, WindowsCarryTheWallClockOfTheirNewestFrame) {
  ScriptedEngine engine;
  RecordingObserver obs;
  ScriptedLiveSource src(10, kS);
  LiveJob job("cam", engine, nullptr, every_second(), {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  ASSERT_EQ(obs.wall_clocks.size(), 9u);
  for (std::size_t i = 0; i < obs.wall_clocks.size(); ++i)
    EXPECT_EQ(obs.wall_clocks[i], 1'700'000'000'000'000'000 + obs.newest_pts[i]) << i;
}

TEST(LiveJob, GapsAreReportedAndNoWindowSpansOne) {
  ScriptedEngine engine;
  RecordingObserver obs;
  ScriptedLiveSource src(12, kS, {}, /*gap_at=*/6);
  LiveJob job("cam", engine, nullptr, every_second(), {}, &obs);
  core::StopFlag stop;
  job.run(src, {}, stop);
  ASSERT_EQ(obs.gaps.size(), 1u);
  EXPECT_EQ(obs.gaps[0].reason, "test outage");
  EXPECT_EQ(job.stats().gaps, 1);
  for (const WindowPlan& p : engine.plans) {
    const bool before = p.frames.back().frame.pts_ns < 6 * kS;
    const bool after = p.frames.front().frame.pts_ns >= 6 * kS;
    EXPECT_TRUE(before || after) << "window " << p.id << " spans the gap";
  }
}

TEST(LiveJob, StreamsShareOneEngineAndBothProgress) {
  ScriptedEngine engine({}, 5);
  EngineScheduler sched(engine);
  auto d1 = sched.client("a", 0), d2 = sched.client("b", 0);
  ScriptedLiveSource s1(30, kS, std::chrono::microseconds(2000));
  ScriptedLiveSource s2(30, kS, std::chrono::microseconds(2000));
  LiveJob j1("a", *d1, nullptr, every_second(2), {}, nullptr);
  LiveJob j2("b", *d2, nullptr, every_second(2), {}, nullptr);
  core::StopFlag stop;
  std::thread t([&] { j1.run(s1, {}, stop); });
  j2.run(s2, {}, stop);
  t.join();
  EXPECT_GT(j1.stats().windows_done, 3);
  EXPECT_GT(j2.stats().windows_done, 3);
}

TEST(LiveJob, AlertsWithoutAnAlertEngineAreRejected) {
  ScriptedEngine engine;
  LiveOptions o = every_second();
  o.alerts.push_back(AlertRule{.name = "a", .question = "q?"});
  EXPECT_THROW(LiveJob("cam", engine, nullptr, o, {}, nullptr), Error);
}

}  // namespace
}  // namespace framescribe::pipeline
