// Runs the videos of a batch: several at once, each through its own VideoPipeline on its own
// thread, with the state of every video kept in a StateStore. Each worker thread has an engine
// of its own (WorkerEngines: window engines of one batched model, apps' SharedEngines), or all
// share one engine through an EngineScheduler (the WindowEngine& overload).
//
//   pipeline::batch::BatchHooks hooks;          // apps/ supplies sources, sinks and hashing
//   hooks.open = [&](const BatchVideo& v, core::StopFlag& stop, core::RunInfo& info) { ... };
//   hooks.sinks = [&](const BatchVideo& v) { return VideoSinks{...}; };
//   hooks.options = [&](const BatchVideo& v) { return PipelineOptions{...}; };
//   hooks.sha256 = [](const std::filesystem::path& p) { return hex; };
//   BatchSummary s = run_batch(videos, state, engine, {.parallel = 2}, hooks, stop, progress);
//   // or an engine per worker: run_batch(videos, state, [&](int k) -> WindowEngine& {...}, ...)
//
// Per video: skipped when the state says done and the input is unchanged (same size and
// modification time, or else the same SHA-256) and every recorded output is still there;
// skipped when it failed max_attempts times; otherwise marked running, stale temporary files of
// its outputs removed, run, then marked done (with its outputs' SHA-256) or failed (with the
// reason). A video that fails does not stop the others. A stop (Ctrl-C) lets the videos in
// progress finish their current window; they are left pending.
//
// Batching: with one shared engine, the EngineScheduler serialises the engine calls of all
// videos, interleaving whole windows of different videos in arrival order. With an engine per
// worker over one batched model (inference::StepScheduler), the workers' calls run together in
// batched engine steps. The outputs are the same either way.
//
// Progress: first one kPlanned call (every video decided: already done, given up, to run), then
// a kVideo call whenever a video is given up on, starts or ends, and kMedia calls while videos
// run: from their pipelines (a frame sampled, a window described) and at least every
// RunnerOptions::tick_s, so a display can redraw regularly even while a long window runs. The
// ETA is weighted by duration: media seconds left (videos not opened yet counted at the mean
// duration of those opened) / media seconds done per wall second so far.
//
// Threads: run_batch blocks; it starts `parallel` worker threads and one ticker. The hooks are
// called from worker threads, concurrently (they must be thread-safe); `progress` is called
// under a lock, one call at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/frame_source.h"
#include "framescribe/core/sink.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/batch/plan.h"
#include "framescribe/pipeline/batch/state_store.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline::batch {

struct VideoSinks {
  std::vector<std::unique_ptr<core::EventSink>> sinks;
  std::vector<std::filesystem::path> files;  // the files they write (checksummed when done)
};

struct BatchHooks {
  // Opens a video and fills `info` (video, duration, size, sampling). Throws Error when it
  // cannot be read (the video fails).
  std::function<std::unique_ptr<core::FrameSource>(const BatchVideo&, core::StopFlag&,
                                                   core::RunInfo&)>
      open;
  std::function<VideoSinks(const BatchVideo&)> sinks;
  std::function<PipelineOptions(const BatchVideo&)> options;
  std::function<std::string(const std::filesystem::path&)> sha256;  // 64 hex digits
};

struct RunnerOptions {
  int parallel = 2;
  int max_attempts = 3;
  double tick_s = 0.5;  // kMedia progress at least this often while videos run
};

// A video in progress.
struct RunningVideo {
  std::string name;         // its file name (redacted input's last component)
  double media_done_s = 0;  // the end of its last described window
  double duration_s = -1;   // -1: not known (not opened yet, or a stream without a duration)
};

enum class ProgressChange {
  kPlanned,  // at the start: skipped, failed (given up) and to_run are known
  kVideo,    // a video given up on, started or finished (`last` says which and how)
  kMedia,    // media time advanced (or the regular tick): `current` and the ETA
};

struct BatchProgress {
  ProgressChange change = ProgressChange::kPlanned;
  std::int64_t total = 0;    // videos of this shard
  std::int64_t skipped = 0;  // done before this run
  std::int64_t done = 0;     // done in this run
  std::int64_t failed = 0;   // failed in this run, or given up on (max_attempts)
  std::int64_t running = 0;
  std::int64_t to_run = 0;   // videos this run processes (neither done before nor given up)
  std::int64_t gave_up = 0;  // of `failed`: failed max_attempts times before this run
  std::vector<RunningVideo> current;  // the videos in progress, in start order
  double media_done_s = 0;            // media seconds processed in this run
  double media_left_s = -1;           // estimated media seconds left; -1: unknown yet
  double elapsed_s = 0;
  double eta_s = -1;  // -1: unknown yet
  std::string last;   // the video that just changed, and how ("done", "failed: ...")
};

struct BatchSummary {
  BatchProgress final;
  bool stopped = false;
};

// The engine of worker `worker` (0 .. parallel-1), used by that worker's thread only, one
// video after another; called on the calling thread before any video starts (it may throw: the
// error is run_batch's). The engines must outlive run_batch.
using WorkerEngines = std::function<WindowEngine&(int worker)>;

BatchSummary run_batch(const std::vector<BatchVideo>& videos, StateStore& state,
                       const WorkerEngines& engines, const RunnerOptions& options,
                       const BatchHooks& hooks, core::StopFlag& stop,
                       const std::function<void(const BatchProgress&)>& progress = {});
// One engine for every worker, its calls run one at a time through an EngineScheduler.
BatchSummary run_batch(const std::vector<BatchVideo>& videos, StateStore& state,
                       WindowEngine& engine, const RunnerOptions& options, const BatchHooks& hooks,
                       core::StopFlag& stop,
                       const std::function<void(const BatchProgress&)>& progress = {});

}  // namespace framescribe::pipeline::batch
