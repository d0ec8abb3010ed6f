// Several live jobs at once, one thread each, until Ctrl-C (the stop flag), a time limit, or
// every stream has ended (files played to their end); the calling thread polls meanwhile.
//
//   std::vector<pipeline::LiveStream> streams = {{"cam1", &job1, &source1, info1}, ...};
//   const pipeline::LiveRunResult r = pipeline::run_live_jobs(
//       streams, stop, /*duration_s=*/0,
//       [&](auto now) { refresh_status_board(); },            // every 200 ms, on this thread
//       [&](const std::string& name, const Error& e) { report(name, e); });
//   exit(r.failures > 0 ? 1 : r.timed_out || !stop.stop_requested() ? 0 : 130);
//
// Rules: each stream's RunInfo gets its started_at when its thread starts. A job that throws
// framescribe::Error is counted, reported through `on_error` (on its thread) and asks every job
// to finish its window (stop.request(kFinishWindow)); the duration does the same. At the end
// every source is asked to stop and every thread is joined before returning. `poll` and
// `on_error` must be safe to call from those threads as said; jobs and sources must outlive the
// call.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/live/live_job.h"

namespace framescribe::pipeline {

struct LiveStream {
  std::string name;
  LiveJob* job = nullptr;
  core::LiveFrameSource* source = nullptr;
  core::RunInfo info;  // started_at is set when the stream's thread starts
};

struct LiveRunResult {
  int failures = 0;        // jobs that ended with an Error
  bool timed_out = false;  // duration_s reached (not a stop request from outside)
};

LiveRunResult run_live_jobs(
    std::vector<LiveStream> streams, core::StopFlag& stop, double duration_s,
    const std::function<void(std::chrono::steady_clock::time_point)>& poll,
    const std::function<void(const std::string&, const Error&)>& on_error,
    std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));

}  // namespace framescribe::pipeline
