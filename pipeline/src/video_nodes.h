// The nodes of the video pipeline's flow graph (private to the pipeline): the messages between
// them, the state of one run they share, and each node's body as a named type, the way oneTBB's
// fgbzip2 example keeps them. VideoPipeline::run (video_pipeline.cpp) wires them:
//
//   RunState st(stop, source, engine, sinks, options, packing, limit);
//   flow::input_node<FrameMsg> src(g, ReadFrames{st});
//   flow::function_node<FrameMsg, FrameMsg> prepare(g, flow::unlimited, PrepareFrame{st});
//   ...                                           // PackWindows, RunEngine, MakeEvents, FeedSink
//
// Rules (docs/architecture.md, "How it is built"):
// - Frames are numbered after sampling (ReadFrames), so the frame sequencer never waits for a
//   frame that will not come; the last message is a sentinel (end, or stopped).
// - Every frame past the limiter is counted in flight until it is released: by PackWindows
//   (skipped, too large, or abandoned at a stop or an error) or by RunEngine after the window
//   that used it last (WindowPlan::release_count), after its prepared pixels were dropped. The
//   sentinel is released by PackWindows.
// - Errors never cross TBB: a body records the first exception (RunState::fail), which stops
//   the source; the graph drains and run() rethrows it after finishing the sinks.
// Threads: the bodies of serial nodes run one at a time each; PrepareFrame runs in parallel.
// TBB copies bodies: they hold only a pointer to the RunState, which owns all mutable state.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/tbb/flow_graph.h>

#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/sink.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/events.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pipeline/summary.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline::graph {

namespace flow = oneapi::tbb::flow;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t);

// A frame on its way to the packer; the last message of a stream is a sentinel.
//
// Both messages hold their payload through a shared_ptr that every copy TBB makes shares
// (a finished task's result, a buffer slot, a queued input): the consumer moves the frames out
// of that one object, so no stale copy keeps prepared pixels alive past their release at the
// limiter, and the bound on live prepared frames is exact (with the payload inside the message,
// a copy that TBB had not destroyed yet now and then made it limit + 1).
struct FrameMsg {
  std::shared_ptr<PreparedFrame> f = std::make_shared<PreparedFrame>();
  bool end = false;      // sentinel: no more frames
  bool stopped = false;  // sentinel: the stream was cut short (stop or error)
  bool bad = false;      // preparation failed (the error is recorded)
};

// A window on its way to the engine; the engine node drops its frames (and their prepared
// pixels) before it releases them at the limiter.
struct WindowMsg {
  std::shared_ptr<WindowPlan> plan;
};

struct DoneMsg {
  std::int64_t id = 0;
  bool ran = false;  // false: dropped (stop or error); no result
  std::shared_ptr<core::WindowResult> result;
};

using WindowPtr = std::shared_ptr<const core::WindowResult>;

// Everything one run's nodes share: counters (atomics: read by progress from any node), the
// first error, and each serial node's own state (touched only by that node).
struct RunState {
  RunState(core::StopFlag& stop, core::FrameSource& source, WindowEngine& engine,
           std::vector<core::EventSink*> sinks, const PipelineOptions& options);

  core::StopFlag& stop;
  core::FrameSource& source;
  WindowEngine& engine;
  std::vector<core::EventSink*> sinks;
  const PipelineOptions& options;
  Clock::time_point t0 = Clock::now();

  std::mutex error_mu;
  std::exception_ptr first_error;
  std::string error_text;
  std::atomic<bool> failed{false};

  std::atomic<std::int64_t> sampled{0}, described{0}, skipped{0}, in_flight{0}, max_in_flight{0};
  std::atomic<std::int64_t> windows_done{0}, windows_dropped{0}, events{0}, media_done_ns{0};
  std::atomic<double> engine_s{0};
  std::int64_t limit = 0;
  std::int64_t media_end_ns = core::kNoTimestamp;

  std::mutex progress_mu;
  ProgressCallback progress;

  // ReadFrames'.
  std::optional<core::Frame> first;  // read before the graph (it sizes the limiter)
  std::int64_t next_seq = 0;
  bool ended = false;
  // PackWindows'.
  std::optional<WindowPacker> packer;
  // RunEngine's.
  std::string previous;  // the last answer, raw, when carried into the next prompt
  std::int64_t described_max_seq = -1;
  // MakeEvents'.
  EventMerger merger;
  std::vector<SummaryItem> summary_items;
  // FeedSink's, one element per sink (char, not bool: sink nodes write their own concurrently).
  std::vector<char> sink_ok;

  // Records the first error and stops the source. Any thread; never throws.
  void fail(std::exception_ptr e) noexcept;
  bool cutting_short() const { return failed.load() || stop.stop_requested(); }
  void admit();                  // a frame passed the limiter
  void release(std::int64_t n);  // frames leave the in-flight count
  PipelineStats snapshot() const;
  void report(bool summarizing = false);
};

// Source (input_node): the next sampled frame, numbered; then one sentinel.
struct ReadFrames {
  RunState* st;
  FrameMsg operator()(oneapi::tbb::flow_control& fc) const;
};

// Past the limiter (parallel): counts the frame in flight, prepares its pixels for the engine.
struct PrepareFrame {
  RunState* st;
  FrameMsg operator()(FrameMsg m) const;
};

// Packer (serial, frames in order): windows to port 0, released frame counts to port 1.
using PackNode = flow::multifunction_node<FrameMsg, std::tuple<WindowMsg, long long>>;
struct PackWindows {
  RunState* st;
  void operator()(const FrameMsg& m, PackNode::output_ports_type& ports) const;
};

// Engine (serial): describes a window; the result to port 0 (every window, run or dropped),
// then the frames no later window repeats to port 1, after their pixels were dropped.
using EngineNode = flow::multifunction_node<WindowMsg, std::tuple<DoneMsg, long long>>;
struct RunEngine {
  RunState* st;
  void operator()(const WindowMsg& msg, EngineNode::output_ports_type& ports) const;
};

// Events (serial, windows in order): parse, merge, collect summary lines; to the sinks.
using EventsNode = flow::multifunction_node<DoneMsg, std::tuple<WindowPtr>>;
struct MakeEvents {
  RunState* st;
  void operator()(const DoneMsg& d, EventsNode::output_ports_type& ports) const;
};

// One sink (serial per sink): on_window; a sink that throws is not called again.
struct FeedSink {
  RunState* st;
  std::size_t index;
  flow::continue_msg operator()(const WindowPtr& w) const;
};

}  // namespace framescribe::pipeline::graph
