// The video pipeline: a TBB flow graph from a frame source to the sinks, for one video.
//
//   pipeline::PipelineOptions opt;                 // packing, frames in flight, summary
//   pipeline::VideoPipeline p(engine, {&jsonl, &srt}, opt);
//   pipeline::RunResult r = p.run(source, run_info, stop, on_progress);
//   r.end.status;                                 // complete, stopped (Ctrl-C) or failed
//
// The graph (docs/architecture.md, Data flow):
//
//   source (serial: next(), numbers frames) -> limiter (frames in flight)
//     -> prepare (parallel: WindowEngine::prepare) -> sequencer (frame order)
//     -> packer (serial: WindowPacker) -> engine (serial: WindowEngine::describe)
//     -> events (serial: parse, rebase, clamp, de-duplicate) -> each sink (serial)
//   engine done -> limiter.decrement(frames no later window needs)
//
// - Memory is bounded whatever the video length: at most max_frames_in_flight frames are
//   between the limiter and the end of the engine (frames a later window will repeat included),
//   plus the one frame the source has decoded ahead.
// - Stop: at StopFlag level kFinishWindow the source ends, frames not yet in a started window
//   are skipped (counted), the window in the engine completes; at kAbandon the engine returns
//   early and that window is dropped. The sinks are then finished with status kStopped.
// - A fatal error (thrown by the source, the engine or a sink) is recorded once, stops the
//   source, lets the graph drain, and is rethrown by run() after the other sinks were finished
//   with status kFailed (the failing sink is aborted). Nothing is rethrown twice.
// - After the windows, the summary is made hierarchically (summary.h) when enabled and the run
//   was complete.
//
// The node bodies are named types in pipeline/src/video_nodes.h; run() is their wiring.
//
// Threading: run() blocks; the graph runs in its own task arena. Progress callbacks come from
// graph threads, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/sink.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/events.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/packer.h"

namespace framescribe::pipeline {

struct PipelineOptions {
  PackingOptions packing;
  // 0: two windows' worth plus two (plan_flight), so decoding of the next window overlaps
  // inference of the current one.
  std::int64_t max_frames_in_flight = 0;
  bool carry_previous = false;   // give each window the previous window's answer
  bool summary = true;           // make the final summary
  std::string summary_template;  // empty: kDefaultSummaryPrompt
  MergeOptions merge;
  int threads = 0;  // TBB arena size; 0: max(4, hardware threads)
};

struct PipelineStats {
  std::int64_t frames_sampled = 0;
  std::int64_t frames_described = 0;  // distinct frames in windows the engine finished
  std::int64_t frames_skipped = 0;    // sampled but in no finished window
  std::int64_t frames_in_flight = 0;
  std::int64_t max_frames_in_flight = 0;  // the highest count seen
  std::int64_t frames_in_flight_limit = 0;
  std::int64_t windows_done = 0;
  std::int64_t windows_dropped = 0;  // planned but not run (stop)
  std::int64_t events = 0;
  std::int64_t media_done_ns = 0;                  // end of the last finished window
  std::int64_t media_end_ns = core::kNoTimestamp;  // the input's end, if known
  double wall_s = 0;
  double engine_s = 0;
  bool summarizing = false;
};

struct RunResult {
  core::RunEnd end;
  PipelineStats stats;
};

// How many frames may be in flight, and the most frames one window takes, for a stream whose
// frames are like `first` (same size) and `interval_ns` apart (0: unknown; then the window's
// length in seconds is not used to size it). Windows never take more than frames_per_window, so
// the packer can always close a window before the in-flight limit is reached (no stall).
struct FlightPlan {
  std::int64_t frames_in_flight = 0;
  std::int64_t frames_per_window = 0;
};
FlightPlan plan_flight(const PipelineOptions& options, const PromptCoster& coster,
                       const core::Frame& first, std::int64_t interval_ns = 0);

// The plan of one stream, from its first frame: the in-flight bound (plan_flight) and the
// packing the pack node uses (options.packing with the window cap of that bound). The one
// function VideoPipeline::run and the dry run (plan_video) both size a run with.
struct StreamPlan {
  PackingOptions packing;
  FlightPlan flight;
};
StreamPlan plan_stream(const PipelineOptions& options, const PromptCoster& coster,
                       const core::Frame& first, std::int64_t interval_ns = 0);

// The windows a run would make, without an engine (summarize --dry-run): reads the whole
// source and packs its frames exactly as run() does (plan_stream, then a WindowPacker), calling
// `on_window` for each window in order (its frames carry no prepared pixels). Memory: one
// window's frames. Throws what the source or the packer throws.
struct VideoPlan {
  std::optional<core::Frame> first;  // the first frame; none: the source gave no frame
  std::optional<StreamPlan> stream;  // set with `first`
  std::int64_t budget_tokens = 0;    // the packer's budget (context - answer reserve)
  std::int64_t frames = 0;           // sampled
  std::int64_t frames_skipped = 0;   // too large for the context even alone
};
VideoPlan plan_video(core::FrameSource& source, const PipelineOptions& options,
                     const PromptCoster& coster,
                     const std::function<void(const WindowPlan&)>& on_window);

using ProgressCallback = std::function<void(const PipelineStats&)>;

class VideoPipeline {
 public:
  // `engine` and the sinks must outlive the pipeline.
  VideoPipeline(WindowEngine& engine, std::vector<core::EventSink*> sinks, PipelineOptions options);
  // Runs the whole video: begin, windows, summary, finish. Throws the first fatal error (after
  // finishing the sinks as described above); Error(kCancelled) is never thrown for a stop.
  RunResult run(core::FrameSource& source, const core::RunInfo& info, core::StopFlag& stop,
                const ProgressCallback& progress = {});

 private:
  WindowEngine& engine_;
  std::vector<core::EventSink*> sinks_;
  PipelineOptions opt_;
};

}  // namespace framescribe::pipeline
