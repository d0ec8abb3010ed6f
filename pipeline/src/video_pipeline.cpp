#include "framescribe/pipeline/video_pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pipeline/summary.h"

namespace framescribe::pipeline {
namespace {

namespace flow = oneapi::tbb::flow;
using Clock = std::chrono::steady_clock;

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

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

// State shared by the nodes of one run.
struct RunState {
  explicit RunState(core::StopFlag& s, FrameSource& src) : stop(s), source(src) {}
  core::StopFlag& stop;
  FrameSource& source;
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

  void fail(std::exception_ptr e) noexcept {
    {
      std::lock_guard lock(error_mu);
      if (!first_error) {
        first_error = e;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          error_text = ex.what();
        } catch (...) {
          error_text = "unknown error";
        }
      }
    }
    failed.store(true);
    source.request_stop();
  }
  bool cutting_short() const { return failed.load() || stop.stop_requested(); }

  void admit() {
    const std::int64_t now = in_flight.fetch_add(1) + 1;
    std::int64_t seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
  }

  PipelineStats snapshot() const {
    PipelineStats s;
    s.frames_sampled = sampled.load();
    s.frames_described = described.load();
    s.frames_skipped = skipped.load();
    s.frames_in_flight = in_flight.load();
    s.max_frames_in_flight = max_in_flight.load();
    s.frames_in_flight_limit = limit;
    s.windows_done = windows_done.load();
    s.windows_dropped = windows_dropped.load();
    s.events = events.load();
    s.media_done_ns = media_done_ns.load();
    s.media_end_ns = media_end_ns;
    s.wall_s = seconds_since(t0);
    s.engine_s = engine_s.load();
    return s;
  }
  void report(bool summarizing = false) {
    if (!progress) return;
    std::unique_lock lock(progress_mu, std::try_to_lock);
    if (!lock.owns_lock()) return;  // another thread is reporting: skip this one
    PipelineStats s = snapshot();
    s.summarizing = summarizing;
    try {
      progress(s);
    } catch (...) {
      // Progress display problems never stop a run.
    }
  }
};

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

RunResult VideoPipeline::run(FrameSource& source, const core::RunInfo& info, core::StopFlag& stop,
                             const ProgressCallback& progress) {
  RunState st(stop, source);
  st.progress = progress;
  st.media_end_ns = source.end_ns();

  // Sinks start first: a sink that cannot create its file fails before any work is done.
  // char, not bool: sink nodes write their own element concurrently.
  std::vector<char> sink_ok(sinks_.size(), 1);
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

  // The first frame decides the in-flight limit and the window cap (plan_flight).
  std::optional<core::Frame> first;
  try {
    if (!stop.stop_requested()) first = source.next();
  } catch (...) {
    st.fail(std::current_exception());
  }

  PackingOptions packing = opt_.packing;
  std::int64_t limit = 16;
  if (first) {
    try {
      const FlightPlan plan = plan_flight(opt_, engine_.coster(), *first, source.interval_ns());
      limit = plan.frames_in_flight;
      packing.max_frames_per_window = plan.frames_per_window;
    } catch (...) {
      st.fail(std::current_exception());
    }
  }
  st.limit = limit;
  std::optional<WindowPacker> packer;
  try {
    packer.emplace(packing, engine_.coster());
  } catch (...) {
    abort_all();
    throw;
  }

  std::vector<SummaryItem> summary_items;
  EventMerger merger(opt_.merge);
  // More threads than cores on small machines: the source and the engine block in their
  // bodies (I/O, a long forward pass), and preprocessing must still run beside them.
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = opt_.threads > 0 ? opt_.threads : std::max(4, hw);
  oneapi::tbb::global_control allow(oneapi::tbb::global_control::max_allowed_parallelism,
                                    static_cast<std::size_t>(threads));
  oneapi::tbb::task_arena arena(threads);

  arena.execute([&] {
    flow::graph g;
    std::int64_t next_seq = 0;
    bool ended = false;
    std::optional<core::Frame> pending_first = std::move(first);

    // Source: serial by construction (input_node), numbers frames after the sampler dropped
    // what it did not want, so the sequencer never waits for a frame that will not come.
    flow::input_node<FrameMsg> src(g, [&](oneapi::tbb::flow_control& fc) -> FrameMsg {
      if (ended) {
        fc.stop();
        return {};
      }
      FrameMsg m;
      if (st.cutting_short()) {
        ended = true;
        m.end = m.stopped = true;
        m.f->seq = next_seq++;
        return m;
      }
      std::optional<core::Frame> f;
      if (pending_first) {
        f = std::move(pending_first);
        pending_first.reset();
      } else {
        try {
          f = source.next();
        } catch (...) {
          st.fail(std::current_exception());
        }
      }
      if (!f || st.cutting_short()) {
        ended = true;
        m.end = true;
        m.stopped = st.cutting_short();
        m.f->seq = next_seq++;
        if (f) st.sampled.fetch_add(1), st.skipped.fetch_add(1);
        return m;
      }
      m.f->frame = std::move(*f);
      m.f->seq = next_seq++;
      st.sampled.fetch_add(1);
      st.report();
      return m;
    });

    flow::limiter_node<FrameMsg, long long> limiter(g, static_cast<std::size_t>(limit));

    flow::function_node<FrameMsg, FrameMsg> prepare(g, flow::unlimited, [&](FrameMsg m) {
      if (m.end) return m;
      st.admit();  // past the limiter: in flight until released after the engine
      if (st.failed.load()) return m;
      try {
        m.f->pixels = engine_.prepare(m.f->frame);
      } catch (...) {
        st.fail(std::current_exception());
        m.bad = true;
      }
      return m;
    });

    flow::sequencer_node<FrameMsg> frame_order(
        g, [](const FrameMsg& m) { return static_cast<std::size_t>(m.f->seq); });

    using PackOut = flow::multifunction_node<FrameMsg, std::tuple<WindowMsg, long long>>;
    PackOut pack(g, flow::serial, [&](const FrameMsg& m, PackOut::output_ports_type& ports) {
      auto release = [&](std::int64_t n) {
        if (n <= 0) return;
        st.in_flight.fetch_sub(n);
        std::get<1>(ports).try_put(n);
      };
      if (m.end) {
        if (m.stopped || st.failed.load()) {
          const std::int64_t held = packer->pending();
          st.skipped.fetch_add(packer->abandon());
          release(held);
        } else {
          try {
            if (auto w = packer->finish(source.end_ns()))
              std::get<0>(ports).try_put(WindowMsg{std::make_shared<WindowPlan>(std::move(*w))});
          } catch (...) {
            st.fail(std::current_exception());
            const std::int64_t held = packer->pending();
            st.skipped.fetch_add(packer->abandon());
            release(held);
          }
        }
        std::get<1>(ports).try_put(1);  // the sentinel itself passed the limiter
        return;
      }
      if (m.bad || st.failed.load()) {
        m.f->pixels.reset();  // before the release, as for a described frame
        st.skipped.fetch_add(1);
        release(1);
        return;
      }
      try {
        const std::int64_t pts_ns = m.f->frame.pts_ns;
        WindowPacker::Output out = packer->push(std::move(*m.f));
        if (out.skipped > 0) {
          st.skipped.fetch_add(out.skipped);
          FS_LOG_WARN("frame at " << core::format_timestamp(pts_ns)
                                  << " does not fit the context even alone: skipped");
          release(out.skipped);
        }
        if (out.window)
          std::get<0>(ports).try_put(
              WindowMsg{std::make_shared<WindowPlan>(std::move(*out.window))});
      } catch (...) {
        st.fail(std::current_exception());
        st.skipped.fetch_add(1);
        release(1);
      }
    });

    using EngineOut = flow::multifunction_node<WindowMsg, std::tuple<DoneMsg, long long>>;
    std::string previous;
    std::int64_t described_max_seq = -1;
    EngineOut engine_node(
        g, flow::serial, [&](const WindowMsg& msg, EngineOut::output_ports_type& ports) {
          WindowPlan& w = *msg.plan;
          DoneMsg done;
          done.id = w.id;
          auto finish = [&] {
            std::get<0>(ports).try_put(std::move(done));
            std::vector<PreparedFrame>().swap(w.frames);  // the pixels go before the release
            st.in_flight.fetch_sub(w.release_count);
            std::get<1>(ports).try_put(w.release_count);
          };
          if (st.cutting_short()) {
            st.windows_dropped.fetch_add(1);
            finish();
            return;
          }
          try {
            const auto t = Clock::now();
            WindowAnswer a =
                engine_.describe(w, opt_.carry_previous ? previous : std::string_view{}, stop);
            const double secs = seconds_since(t);
            st.engine_s.store(st.engine_s.load() + secs);  // one engine node: no concurrent writer
            if (a.abandoned) {
              st.windows_dropped.fetch_add(1);
              finish();
              return;
            }
            auto r = std::make_shared<core::WindowResult>();
            r->id = w.id;
            r->start_ns = w.start_ns;
            r->end_ns = w.end_ns;
            for (const PreparedFrame& f : w.frames) {
              r->frame_pts_ns.push_back(f.frame.pts_ns);
              r->frames.push_back(f.frame.image);
              if (f.seq > described_max_seq) {
                described_max_seq = f.seq;
                st.described.fetch_add(1);
              }
            }
            r->prompt_tokens = a.prompt_tokens;
            r->answer_tokens = a.answer_tokens;
            r->prompt_hash = a.prompt_hash;
            r->engine_ms = a.engine_ms > 0 ? a.engine_ms : secs * 1e3;
            r->answer = std::move(a.text);
            if (opt_.carry_previous) previous = r->answer;
            done.ran = true;
            done.result = std::move(r);
          } catch (...) {
            st.fail(std::current_exception());
            st.windows_dropped.fetch_add(1);
          }
          finish();
        });

    flow::sequencer_node<DoneMsg> window_order(
        g, [](const DoneMsg& d) { return static_cast<std::size_t>(d.id); });

    using EventsOut = flow::multifunction_node<DoneMsg, std::tuple<WindowPtr>>;
    EventsOut events(g, flow::serial, [&](const DoneMsg& d, EventsOut::output_ports_type& ports) {
      if (!d.ran) return;  // windows finished before a failure still reach the sinks
      try {
        core::WindowResult& r = *d.result;
        std::vector<core::Event> parsed =
            parse_events(core::sanitize_text(r.answer), WindowSpan{r.id, r.start_ns, r.end_ns});
        r.events = merger.add(std::move(parsed));
        std::string lines;
        for (const core::Event& e : r.events) {
          if (!lines.empty()) lines += '\n';
          lines += "[" + core::format_timestamp(e.start_ns) + "-" +
                   core::format_timestamp(e.end_ns) + "] " + e.text;
        }
        if (!lines.empty()) summary_items.push_back({r.start_ns, r.end_ns, std::move(lines)});
        st.events.fetch_add(static_cast<std::int64_t>(r.events.size()));
        st.windows_done.fetch_add(1);
        st.media_done_ns.store(r.end_ns);
        std::get<0>(ports).try_put(WindowPtr(d.result));
        st.report();
      } catch (...) {
        st.fail(std::current_exception());
      }
    });

    flow::broadcast_node<WindowPtr> fan_out(g);
    std::vector<std::unique_ptr<flow::function_node<WindowPtr>>> sink_nodes;
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      sink_nodes.push_back(std::make_unique<flow::function_node<WindowPtr>>(
          g, flow::serial, [&, i](const WindowPtr& w) {
            if (!sink_ok[i]) return flow::continue_msg();
            try {
              sinks_[i]->on_window(*w);
            } catch (...) {
              sink_ok[i] = 0;  // only this node touches sink_ok[i] during the graph
              st.fail(std::current_exception());
            }
            return flow::continue_msg();
          }));
      flow::make_edge(fan_out, *sink_nodes.back());
    }

    flow::make_edge(src, limiter);
    flow::make_edge(limiter, prepare);
    flow::make_edge(prepare, frame_order);
    flow::make_edge(frame_order, pack);
    flow::make_edge(flow::output_port<0>(pack), engine_node);
    flow::make_edge(flow::output_port<1>(pack), limiter.decrementer());
    flow::make_edge(flow::output_port<0>(engine_node), window_order);
    flow::make_edge(flow::output_port<1>(engine_node), limiter.decrementer());
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
      opt_.summary && !summary_items.empty()) {
    st.report(true);
    try {
      SummaryOptions so;
      so.prompt_template = opt_.summary_template;
      so.video_name = opt_.packing.video_name;
      so.context_tokens = opt_.packing.context_tokens;
      const auto t = Clock::now();
      SummaryResult s = summarize(std::move(summary_items), engine_, so, stop);
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
    if (!sink_ok[i]) {
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
