#include "framescribe/pipeline/video_pipeline.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/summary.h"
#include "video_nodes.h"

namespace framescribe::pipeline {

VideoPipeline::VideoPipeline(WindowEngine& engine, std::vector<core::EventSink*> sinks,
                             PipelineOptions options)
    : engine_(engine), sinks_(std::move(sinks)), opt_(std::move(options)) {
  validate(opt_.packing);
  FS_CHECK(opt_.max_frames_in_flight >= 0, kInvalidArgument, "max frames in flight must be >= 0");
}

FlightPlan plan_flight(const PipelineOptions& options, const PromptCoster& coster,
                       const core::Frame& first, std::int64_t interval_ns) {
  FS_CHECK(first.image != nullptr, kInvalidArgument, "a frame without pixels");
  // How many frames like `first` one window takes: pack copies of it (labels of the first
  // hour, the shortest) until the packer closes a window. Exact for streams of one frame size;
  // an over-estimate otherwise, which only makes the in-flight limit a little larger.
  PackingOptions p = options.packing;
  if (interval_ns <= 0) p.window_ns = 0;
  p.overlap_ns = 0;
  if (options.max_frames_in_flight > 0) {
    const std::int64_t by_limit = std::max<std::int64_t>(1, (options.max_frames_in_flight - 1) / 2);
    p.max_frames_per_window =
        p.max_frames_per_window > 0 ? std::min(p.max_frames_per_window, by_limit) : by_limit;
  }
  WindowPacker sim(p, coster);
  std::int64_t cap = 0;
  for (std::int64_t i = 0;; ++i) {
    PreparedFrame f;
    f.frame = first;
    f.frame.pts_ns = i * std::max<std::int64_t>(interval_ns, 1);
    WindowPacker::Output out = sim.push(std::move(f));
    if (out.skipped > 0) break;  // too large alone: nothing will fit
    if (out.window) {
      cap = static_cast<std::int64_t>(out.window->frames.size());
      break;
    }
  }
  cap = std::max<std::int64_t>(1, cap);
  FlightPlan plan;
  plan.frames_per_window = cap;
  plan.frames_in_flight = options.max_frames_in_flight > 0
                              ? std::max<std::int64_t>(options.max_frames_in_flight, 3)
                              : 2 * cap + 2;
  return plan;
}

StreamPlan plan_stream(const PipelineOptions& options, const PromptCoster& coster,
                       const core::Frame& first, std::int64_t interval_ns) {
  StreamPlan plan;
  plan.flight = plan_flight(options, coster, first, interval_ns);
  plan.packing = options.packing;
  plan.packing.max_frames_per_window = plan.flight.frames_per_window;
  return plan;
}

VideoPlan plan_video(core::FrameSource& source, const PipelineOptions& options,
                     const PromptCoster& coster,
                     const std::function<void(const WindowPlan&)>& on_window) {
  VideoPlan out;
  std::optional<core::Frame> f = source.next();
  if (!f) return out;
  out.first = *f;
  out.stream = plan_stream(options, coster, *f, source.interval_ns());
  WindowPacker packer(out.stream->packing, coster);
  out.budget_tokens = packer.budget_tokens();
  while (f) {
    PreparedFrame pf;
    pf.frame = std::move(*f);
    pf.seq = out.frames++;
    WindowPacker::Output o = packer.push(std::move(pf));
    out.frames_skipped += o.skipped;
    if (o.window && on_window) on_window(*o.window);
    f = source.next();
  }
  if (auto last = packer.finish(source.end_ns()); last && on_window) on_window(*last);
  return out;
}

RunResult VideoPipeline::run(core::FrameSource& source, const core::RunInfo& info,
                             core::StopFlag& stop, const ProgressCallback& progress) {
  namespace flow = oneapi::tbb::flow;
  using namespace graph;
  RunState st(stop, source, engine_, sinks_, opt_);
  st.progress = progress;
  st.media_end_ns = source.end_ns();

  // Sinks start first: a sink that cannot create its file fails before any work is done.
  std::vector<char> sink_begun(sinks_.size(), 0);
  auto abort_all = [&] {
    for (std::size_t i = 0; i < sinks_.size(); ++i)
      if (sink_begun[i]) sinks_[i]->abort();
  };
  try {
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      sinks_[i]->begin(info);
      sink_begun[i] = 1;
    }
  } catch (...) {
    abort_all();
    throw;
  }

  // The first frame decides the in-flight limit and the window cap (plan_stream).
  try {
    if (!stop.stop_requested()) st.first = source.next();
  } catch (...) {
    st.fail(std::current_exception());
  }
  PackingOptions packing = opt_.packing;
  st.limit = 16;
  if (st.first) {
    try {
      const StreamPlan plan = plan_stream(opt_, engine_.coster(), *st.first, source.interval_ns());
      st.limit = plan.flight.frames_in_flight;
      packing = plan.packing;
    } catch (...) {
      st.fail(std::current_exception());
    }
  }
  try {
    st.packer.emplace(packing, engine_.coster());
  } catch (...) {
    abort_all();
    throw;
  }

  // More threads than cores on small machines: the source and the engine block in their
  // bodies (I/O, a long forward pass), and preprocessing must still run beside them.
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = opt_.threads > 0 ? opt_.threads : std::max(4, hw);
  oneapi::tbb::global_control allow(oneapi::tbb::global_control::max_allowed_parallelism,
                                    static_cast<std::size_t>(threads));
  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    flow::graph g;
    flow::input_node<FrameMsg> src(g, ReadFrames{&st});
    flow::limiter_node<FrameMsg, long long> limiter(g, static_cast<std::size_t>(st.limit));
    flow::function_node<FrameMsg, FrameMsg> prepare(g, flow::unlimited, PrepareFrame{&st});
    flow::sequencer_node<FrameMsg> frame_order(
        g, [](const FrameMsg& m) { return static_cast<std::size_t>(m.f->seq); });
    PackNode pack(g, flow::serial, PackWindows{&st});
    EngineNode engine(g, flow::serial, RunEngine{&st});
    flow::sequencer_node<DoneMsg> window_order(
        g, [](const DoneMsg& d) { return static_cast<std::size_t>(d.id); });
    EventsNode events(g, flow::serial, MakeEvents{&st});
    flow::broadcast_node<WindowPtr> fan_out(g);
    std::vector<std::unique_ptr<flow::function_node<WindowPtr>>> sink_nodes;
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      sink_nodes.push_back(
          std::make_unique<flow::function_node<WindowPtr>>(g, flow::serial, FeedSink{&st, i}));
      flow::make_edge(fan_out, *sink_nodes.back());
    }

    flow::make_edge(src, limiter);
    flow::make_edge(limiter, prepare);
    flow::make_edge(prepare, frame_order);
    flow::make_edge(frame_order, pack);
    flow::make_edge(flow::output_port<0>(pack), engine);
    flow::make_edge(flow::output_port<1>(pack), limiter.decrementer());
    flow::make_edge(flow::output_port<0>(engine), window_order);
    flow::make_edge(flow::output_port<1>(engine), limiter.decrementer());
    flow::make_edge(window_order, events);
    flow::make_edge(flow::output_port<0>(events), fan_out);
    src.activate();
    g.wait_for_all();
  });

  // Summary, then the sinks are finished (files appear only now).
  core::RunEnd end;
  const PipelineStats stats_before = st.snapshot();
  if (st.failed.load()) {
    end.status = core::RunStatus::kFailed;
    end.error = st.error_text;
  } else if (stop.stop_requested() || stats_before.windows_dropped > 0) {
    end.status = core::RunStatus::kStopped;
  } else if (stats_before.frames_sampled == 0) {
    // Nothing described is no success: an input that gives no frame (an mp4 whose index is
    // at the end, served without seeking; a file cut before its first picture) fails.
    const std::string why = source.incomplete_reason();
    end.status = core::RunStatus::kFailed;
    end.error = "no frame to describe" + (why.empty() ? std::string() : ": " + why);
  } else if (std::string why = source.incomplete_reason(); !why.empty()) {
    end.status = core::RunStatus::kPartial;
    end.error = std::move(why);
  }
  if ((end.status == core::RunStatus::kComplete || end.status == core::RunStatus::kPartial) &&
      opt_.summary && !st.summary_items.empty()) {
    st.report(true);
    try {
      SummaryOptions so;
      so.prompt_template = opt_.summary_template;
      so.video_name = opt_.packing.video_name;
      so.context_tokens = opt_.packing.context_tokens;
      const auto t = Clock::now();
      SummaryResult s = summarize(std::move(st.summary_items), engine_, so, stop);
      st.engine_s.store(st.engine_s.load() + seconds_since(t));
      end.summary = std::move(s.text);
      if (s.stopped) end.status = core::RunStatus::kStopped;
    } catch (...) {
      st.fail(std::current_exception());
      end.status = core::RunStatus::kFailed;
      end.error = st.error_text;
    }
  }
  RunResult result;
  result.stats = st.snapshot();
  end.frames_sampled = result.stats.frames_sampled;
  end.frames_skipped = result.stats.frames_sampled - result.stats.frames_described;
  end.windows = result.stats.windows_done;
  end.wall_s = result.stats.wall_s;
  end.engine_s = result.stats.engine_s;
  result.stats.frames_skipped = end.frames_skipped;
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    if (!st.sink_ok[i]) {
      sinks_[i]->abort();
      continue;
    }
    try {
      sinks_[i]->finish(end);
    } catch (...) {
      sinks_[i]->abort();
      st.fail(std::current_exception());
    }
  }
  result.end = end;
  if (st.first_error) std::rethrow_exception(st.first_error);
  return result;
}

}  // namespace framescribe::pipeline
