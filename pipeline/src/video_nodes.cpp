#include "video_nodes.h"

#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "window_result.h"

namespace framescribe::pipeline::graph {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

RunState::RunState(core::StopFlag& stop_flag, core::FrameSource& src, WindowEngine& eng,
                   std::vector<core::EventSink*> sink_list, const PipelineOptions& opts)
    : stop(stop_flag),
      source(src),
      engine(eng),
      sinks(std::move(sink_list)),
      options(opts),
      merger(opts.merge),
      sink_ok(sinks.size(), 1) {}

void RunState::fail(std::exception_ptr e) noexcept {
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

void RunState::admit() {
  const std::int64_t now = in_flight.fetch_add(1) + 1;
  std::int64_t seen = max_in_flight.load();
  while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
  }
}

void RunState::release(std::int64_t n) {
  in_flight.fetch_sub(n);
}

PipelineStats RunState::snapshot() const {
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

void RunState::report(bool summarizing) {
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

// Serial by construction (input_node). Numbers frames after the sampler dropped what it did
// not want, so the sequencer never waits for a frame that will not come.
FrameMsg ReadFrames::operator()(oneapi::tbb::flow_control& fc) const {
  if (st->ended) {
    fc.stop();
    return {};
  }
  FrameMsg m;
  if (st->cutting_short()) {
    st->ended = true;
    m.end = m.stopped = true;
    m.f->seq = st->next_seq++;
    return m;
  }
  std::optional<core::Frame> f;
  if (st->first) {
    f = std::move(st->first);
    st->first.reset();
  } else {
    try {
      f = st->source.next();
    } catch (...) {
      st->fail(std::current_exception());
    }
  }
  if (!f || st->cutting_short()) {
    st->ended = true;
    m.end = true;
    m.stopped = st->cutting_short();
    m.f->seq = st->next_seq++;
    if (f) st->sampled.fetch_add(1), st->skipped.fetch_add(1);
    return m;
  }
  m.f->frame = std::move(*f);
  m.f->seq = st->next_seq++;
  st->sampled.fetch_add(1);
  st->report();
  return m;
}

FrameMsg PrepareFrame::operator()(FrameMsg m) const {
  if (m.end) return m;
  st->admit();  // past the limiter: in flight until released after the engine
  if (st->failed.load()) return m;
  try {
    m.f->pixels = st->engine.prepare(m.f->frame);
  } catch (...) {
    st->fail(std::current_exception());
    m.bad = true;
  }
  return m;
}

void PackWindows::operator()(const FrameMsg& m, PackNode::output_ports_type& ports) const {
  WindowPacker& packer = *st->packer;
  auto release = [&](std::int64_t n) {
    if (n <= 0) return;
    st->release(n);
    std::get<1>(ports).try_put(n);
  };
  auto emit = [&](WindowPlan&& w) {
    std::get<0>(ports).try_put(WindowMsg{std::make_shared<WindowPlan>(std::move(w))});
  };
  auto abandon = [&] {
    const std::int64_t held = packer.pending();
    st->skipped.fetch_add(packer.abandon());
    release(held);
  };
  if (m.end) {
    if (m.stopped || st->failed.load()) {
      abandon();
    } else {
      try {
        if (auto w = packer.finish(st->source.end_ns())) emit(std::move(*w));
      } catch (...) {
        st->fail(std::current_exception());
        abandon();
      }
    }
    std::get<1>(ports).try_put(1);  // the sentinel itself passed the limiter
    return;
  }
  if (m.bad || st->failed.load()) {
    m.f->pixels.reset();  // before the release, as for a described frame
    st->skipped.fetch_add(1);
    release(1);
    return;
  }
  try {
    const std::int64_t pts_ns = m.f->frame.pts_ns;
    WindowPacker::Output out = packer.push(std::move(*m.f));
    if (out.skipped > 0) {
      st->skipped.fetch_add(out.skipped);
      FS_LOG_WARN("frame at " << core::format_timestamp(pts_ns)
                              << " does not fit the context even alone: skipped");
      release(out.skipped);
    }
    if (out.window) emit(std::move(*out.window));
  } catch (...) {
    st->fail(std::current_exception());
    st->skipped.fetch_add(1);
    release(1);
  }
}

void RunEngine::operator()(const WindowMsg& msg, EngineNode::output_ports_type& ports) const {
  WindowPlan& w = *msg.plan;
  DoneMsg done;
  done.id = w.id;
  auto finish = [&] {
    std::get<0>(ports).try_put(std::move(done));
    std::vector<PreparedFrame>().swap(w.frames);  // the pixels go before the release
    st->release(w.release_count);
    std::get<1>(ports).try_put(w.release_count);
  };
  if (st->cutting_short()) {
    st->windows_dropped.fetch_add(1);
    finish();
    return;
  }
  const bool carry = st->options.carry_previous;
  try {
    const auto t = Clock::now();
    WindowAnswer a = st->engine.describe(w, carry ? st->previous : std::string_view{}, st->stop);
    const double secs = seconds_since(t);
    st->engine_s.store(st->engine_s.load() + secs);  // one engine node: no concurrent writer
    if (a.abandoned) {
      st->windows_dropped.fetch_add(1);
      finish();
      return;
    }
    for (const PreparedFrame& f : w.frames) {
      if (f.seq > st->described_max_seq) {
        st->described_max_seq = f.seq;
        st->described.fetch_add(1);
      }
    }
    // The raw text is carried into the next window's prompt, as the engine wrote it.
    if (carry) st->previous = a.text;
    done.result = std::make_shared<core::WindowResult>(window_result(w, a, secs * 1e3));
    done.ran = true;
  } catch (...) {
    st->fail(std::current_exception());
    st->windows_dropped.fetch_add(1);
  }
  finish();
}

void MakeEvents::operator()(const DoneMsg& d, EventsNode::output_ports_type& ports) const {
  if (!d.ran) return;  // windows finished before a failure still reach the sinks
  try {
    core::WindowResult& r = *d.result;
    add_events(r, st->merger);
    std::string lines;
    for (const core::Event& e : r.events) {
      if (!lines.empty()) lines += '\n';
      lines += "[" + core::format_timestamp(e.start_ns) + "-" + core::format_timestamp(e.end_ns) +
               "] " + e.text;
    }
    if (!lines.empty()) st->summary_items.push_back({r.start_ns, r.end_ns, std::move(lines)});
    st->events.fetch_add(static_cast<std::int64_t>(r.events.size()));
    st->windows_done.fetch_add(1);
    st->media_done_ns.store(r.end_ns);
    std::get<0>(ports).try_put(WindowPtr(d.result));
    st->report();
  } catch (...) {
    st->fail(std::current_exception());
  }
}

flow::continue_msg FeedSink::operator()(const WindowPtr& w) const {
  if (!st->sink_ok[index]) return flow::continue_msg();
  try {
    st->sinks[index]->on_window(*w);
  } catch (...) {
    st->sink_ok[index] = 0;  // only this node touches sink_ok[index] during the graph
    st->fail(std::current_exception());
  }
  return flow::continue_msg();
}

}  // namespace framescribe::pipeline::graph
