// Several live jobs at once (pipeline/live/live_runner.h) with the fakes of live_fakes.h: every
// stream played to its end, a failing stream stopping the others, and a time limit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/live/live_runner.h"
#include "monitor/live_fakes.h"

namespace framescribe::pipeline {
namespace {

using namespace std::chrono_literals;
using testing::ScriptedEngine;
using testing::ScriptedLiveSource;
constexpr std::int64_t kS = 1'000'000'000;

// A window every second of the last two; a scripted stream waits for the engine (none dropped).
LiveOptions every_second() {
  LiveOptions o;
  o.wait_for_engine = true;
  o.every_ns = o.sample_interval_ns = kS;
  o.window_ns = 2 * kS;
  return o;
}

// Frames one a millisecond until stopped; or an error at the first read.
class EndlessSource final : public core::LiveFrameSource {
 public:
  explicit EndlessSource(bool fail = false) : fail_(fail) {}
  std::optional<core::LiveItem> next(std::chrono::milliseconds) override {
    if (fail_) FS_FAIL(kIo, "camera unplugged");
    if (stopped_) return std::nullopt;
    std::this_thread::sleep_for(1ms);
    core::LiveItem item;
    core::Frame f;
    f.image = std::make_shared<core::Image>(32, 32, core::PixelFormat::kRgb8);
    f.pts_ns = i_ * kS / 10;
    f.index = i_++;
    item.frame = std::move(f);
    return item;
  }
  void request_stop() override { stopped_ = true; }

 private:
  bool fail_;
  std::atomic<bool> stopped_{false};
  std::int64_t i_ = 0;
};

TEST(LiveRunner, EveryStreamToItsEnd) {
  ScriptedEngine engine;
  ScriptedLiveSource a(8, kS, 10ms), b(6, kS, 10ms);
  LiveJob ja("a", engine, nullptr, every_second(), {}, nullptr);
  LiveJob jb("b", engine, nullptr, every_second(), {}, nullptr);
  core::StopFlag stop;
  std::atomic<int> polls{0};
  const LiveRunResult r = run_live_jobs(
      {{"a", &ja, &a, {}}, {"b", &jb, &b, {}}}, stop, 0,
      [&](std::chrono::steady_clock::time_point) { ++polls; },
      [](const std::string&, const Error& e) { ADD_FAILURE() << e.what(); }, 5ms);
  EXPECT_EQ(r.failures, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(stop.stop_requested());
  EXPECT_GT(polls.load(), 0);
  EXPECT_GT(ja.stats().windows_done, 0);
  EXPECT_GT(jb.stats().windows_done, 0);
}

TEST(LiveRunner, AFailingStreamStopsTheOthers) {
  ScriptedEngine engine;
  EndlessSource good, bad(/*fail=*/true);
  LiveJob jg("good", engine, nullptr, every_second(), {}, nullptr);
  LiveJob jb("bad", engine, nullptr, every_second(), {}, nullptr);
  core::StopFlag stop;
  std::string failed;
  const LiveRunResult r = run_live_jobs({{"good", &jg, &good, {}}, {"bad", &jb, &bad, {}}}, stop, 0,
                                        nullptr, [&](const std::string& name, const Error& e) {
                                          failed = name;
                                          EXPECT_EQ(e.code(), ErrorCode::kIo);
                                        });
  EXPECT_EQ(r.failures, 1);
  EXPECT_EQ(failed, "bad");
  EXPECT_TRUE(stop.stop_requested());
  EXPECT_FALSE(r.timed_out);
}

TEST(LiveRunner, TheDurationEndsARunThatWouldNot) {
  ScriptedEngine engine;
  EndlessSource src;
  LiveJob job("cam", engine, nullptr, every_second(), {}, nullptr);
  core::StopFlag stop;
  const auto t0 = std::chrono::steady_clock::now();
  const LiveRunResult r = run_live_jobs({{"cam", &job, &src, {}}}, stop, 0.2, nullptr, nullptr);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.failures, 0);
  EXPECT_GE(took, 0.2);
  EXPECT_LT(took, 10.0);
}

}  // namespace
}  // namespace framescribe::pipeline
