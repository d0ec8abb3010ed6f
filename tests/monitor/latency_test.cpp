// Latency under load on a real RTSP stream: an engine 3x slower than real time (each window of
// `every` = 1 s of stream takes 3 s), one window allowed to wait. The delay from the capture of
// a window's newest frame to its description must stay under
//   every + (max_pending_windows + 1) * T + 1 s slack = 1 + 2 * 3 + 1 = 8 s
// for the whole run, and the windows that could not be described are counted as dropped.
// FS_LATENCY_SECONDS: 60 (label rtsp) or 600 (label soak, CI).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "framescribe/decoder/gst_source.h"
#include "framescribe/pipeline/live/live_job.h"
#include "monitor/rtsp_server.h"
#include "pipeline/fakes.h"

#ifndef FS_LATENCY_SECONDS
#define FS_LATENCY_SECONDS 60
#endif
// Distinct test names for the two builds (ctest needs unique names).
#if FS_LATENCY_SECONDS >= 600
#define FS_LATENCY_TEST BoundedForTenMinutesWithAnEngineThreeTimesSlowerThanRealTime
#else
#define FS_LATENCY_TEST BoundedForSixtySecondsWithAnEngineThreeTimesSlowerThanRealTime
#endif

namespace framescribe::pipeline {
namespace {

constexpr double kEveryS = 1.0;
constexpr double kEngineS = 3.0 * kEveryS;  // 3x slower than real time
constexpr std::size_t kPending = 1;
constexpr double kBoundS = kEveryS + (kPending + 1) * kEngineS + 1.0;

class SlowEngine final : public WindowEngine {
 public:
  SlowEngine() : coster_(1'000'000) {}
  const PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame&) const override {
    return std::make_shared<const core::PixelImage>();
  }
  WindowAnswer describe(const WindowPlan& plan, std::string_view, const core::StopFlag&) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kEngineS));
    WindowAnswer a;
    a.text = "window " + std::to_string(plan.id);
    return a;
  }
  WindowAnswer complete(std::string_view, const core::StopFlag&) override { return {}; }
  std::int64_t max_answer_tokens() const override { return 16; }
  std::int64_t text_prompt_tokens(std::string_view p) const override {
    return static_cast<std::int64_t>(p.size());
  }
  std::string model_name() const override { return "slow"; }

 private:
  testing::FakeCoster coster_;
};

// (through a second macro, so FS_LATENCY_TEST is expanded before TEST pastes it)
#define FS_EXPANDED_TEST(suite, name) TEST(suite, name)
FS_EXPANDED_TEST(LiveLatency, FS_LATENCY_TEST) {
  testing::RtspTestServer server;
  decoder::GstSourceOptions so;
  so.url = server.url();
  so.sizing.longest_edge_px = 64;
  decoder::GstLiveSource src(so);
  SlowEngine engine;
  LiveOptions o;
  o.every_ns = static_cast<std::int64_t>(kEveryS * 1e9);
  o.window_ns = 2'000'000'000;
  o.sample_interval_ns = 250'000'000;
  o.max_pending_windows = kPending;
  LiveJob job("test", engine, nullptr, o, {}, nullptr);
  core::StopFlag stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::seconds(FS_LATENCY_SECONDS));
    stop.request(core::StopFlag::kFinishWindow);
  });
  job.run(src, {}, stop);
  stopper.join();
  const LiveStats st = job.stats();
  const double mean =
      st.windows_done > 0 ? st.sum_latency_s / static_cast<double>(st.windows_done) : 0;
  std::printf(
      "run %d s: %lld windows made, %lld done, %lld dropped; latency max %.2f s, mean "
      "%.2f s (bound %.1f s); %lld frames\n",
      FS_LATENCY_SECONDS, static_cast<long long>(st.windows_made),
      static_cast<long long>(st.windows_done), static_cast<long long>(st.windows_dropped),
      st.max_latency_s, mean, kBoundS, static_cast<long long>(st.frames_received));
  EXPECT_LT(st.max_latency_s, kBoundS);
  EXPECT_GT(st.windows_dropped, 0);
  EXPECT_GE(st.windows_done, static_cast<std::int64_t>(FS_LATENCY_SECONDS / kEngineS) - 3);
  EXPECT_EQ(st.windows_done + st.windows_dropped, st.windows_made);
}

}  // namespace
}  // namespace framescribe::pipeline
