// The live job: one stream's frames in, a window of the last S seconds (or K frames) every N
// seconds, described by the engine, alert rules scored on the same window, gaps reported.
// Latency stays bounded when inference falls behind: at most max_pending_windows wait for the
// engine, and a new window pushes out the oldest waiting one (counted as dropped).
//
//   pipeline::LiveOptions opt;  opt.every_ns = 10 s;  opt.window_ns = 10 s;
//   opt.alerts.push_back(rule);                              // alert_rule.h
//   pipeline::LiveJob job("cam1", *describe_client, alert_client.get(), opt, sinks, &observer);
//   job.run(source, info, stop);  // a core::LiveFrameSource (decoder::GstLiveSource); blocks
//                                 // until the source ends or stop is requested
//
// When the source ends by itself (a file played out; a live source ends only when stopped), the
// frames sampled since the last window make one last window: a file shorter than the interval
// is still described.
//
// Latency bound: with an engine taking at most T per call (description plus every alert
// question, or one prefill of frames ahead), a description is emitted at most every_ns +
// (max_pending_windows + 1) * T after the capture of the window's newest frame (it waits for
// the call in progress, then for the windows queued before it).
//
// Frames ahead (prefill_ahead): while no window waits, the worker hands the engines the next
// window's frames so far, laid out by the same packer (WindowEngine::prefill, a hint that
// engines sharing one sequence between streams ignore); only the newest such plan is kept.
//
// Threads: run() reads the source on the calling thread and runs the engine on one worker
// thread it owns; the observer and sinks are called from that worker (gaps and frames: from the
// reader); stats() from any thread. Ownership: engines, sinks and observer are borrowed and
// must outlive run(). Memory: the frames of one window, the pending windows, bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/core/alert.h"
#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/sink.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/live/alert_rule.h"

namespace framescribe::pipeline {

struct LiveOptions {
  std::int64_t every_ns = 10'000'000'000;           // a window every N seconds of stream time
  std::int64_t window_ns = 10'000'000'000;          // of the last S seconds
  std::int64_t window_frames = 0;                   // > 0: of the last K sampled frames instead
  std::int64_t sample_interval_ns = 1'000'000'000;  // keep at most one frame per interval
  std::int64_t max_frames_per_window = 8;           // frames evenly thinned to this many
  std::size_t max_pending_windows = 1;              // waiting for the engine; oldest dropped
  // A source read as fast as possible (a file with --no-realtime): the reader waits for room
  // among the pending windows instead of dropping the oldest, so every window is described.
  bool wait_for_engine = false;
  std::int64_t answer_reserve_tokens = 256;
  std::string prompt;  // window prompt template (empty: the default)
  // While the engine is idle, hand it the next window's frames so far (WindowEngine::prefill):
  // engines that can keep a prefilled prefix then prefill only the new part at window time.
  bool prefill_ahead = true;
  std::vector<AlertRule> alerts;
};

void validate(const LiveOptions& options);  // throws Error(kInvalidArgument)

struct LiveStats {
  std::int64_t frames_received = 0, frames_sampled = 0;
  std::int64_t windows_made = 0, windows_done = 0, windows_dropped = 0;
  std::int64_t gaps = 0, alerts_fired = 0, alert_errors = 0;
  double last_latency_s = 0, max_latency_s = 0, sum_latency_s = 0;
  std::int64_t last_frame_wall_ns = core::kNoTimestamp;
  std::string last_description;
  std::int64_t last_window_wall_ns = core::kNoTimestamp;
};

// Told what happens, for status pages and alert delivery. Must not throw.
class LiveObserver {
 public:
  virtual ~LiveObserver() = default;
  virtual void on_frame(const std::string& stream, const core::Frame& frame) {
    (void)stream, (void)frame;
  }
  // `wall_clock_ns`: when the window's newest frame was captured (UTC ns; the sender's clock
  // when the stream carries one, else the local receipt time).
  virtual void on_window(const std::string& stream, const core::WindowResult& window,
                         double latency_s, std::int64_t wall_clock_ns) {
    (void)stream, (void)window, (void)latency_s, (void)wall_clock_ns;
  }
  virtual void on_alert(const core::Alert& alert) { (void)alert; }
  virtual void on_gap(const std::string& stream, const core::StreamGap& gap) {
    (void)stream, (void)gap;
  }
};

class LiveJob {
 public:
  // `alerts` may be null when options.alerts is empty.
  LiveJob(std::string stream, WindowEngine& describe, WindowEngine* alerts, LiveOptions options,
          std::vector<core::EventSink*> sinks, LiveObserver* observer);
  ~LiveJob();
  LiveJob(const LiveJob&) = delete;
  LiveJob& operator=(const LiveJob&) = delete;

  // Sinks get begin(info) first and finish() at the end (kStopped on a stop). Engine errors
  // end the run and are rethrown after the sinks were aborted.
  void run(core::LiveFrameSource& source, const core::RunInfo& info, const core::StopFlag& stop);
  LiveStats stats() const;
  const std::string& stream() const { return stream_; }

  struct State;

 private:
  std::string stream_;
  std::unique_ptr<State> s_;
};

}  // namespace framescribe::pipeline
