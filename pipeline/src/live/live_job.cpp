#include "framescribe/pipeline/live/live_job.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <thread>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pipeline/events.h"
#include "framescribe/pipeline/packer.h"
#include "window_result.h"

namespace framescribe::pipeline {
namespace {

std::int64_t mono_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Sampled {
  PreparedFrame frame;
  std::int64_t received_mono_ns = 0;
};

struct Pending {
  WindowPlan plan;
  std::int64_t captured_mono_ns = 0;  // receipt of the newest frame
  std::int64_t wall_clock_ns = 0;
  std::shared_ptr<const core::Image> snapshot;
};

}  // namespace

void validate(const LiveOptions& o) {
  FS_CHECK(o.every_ns > 0, kInvalidArgument, "--interval must be > 0 seconds");
  FS_CHECK(o.window_frames > 0 || o.window_ns > 0, kInvalidArgument,
           "--window must be > 0 seconds (or --frames > 0)");
  FS_CHECK(o.sample_interval_ns >= 0, kInvalidArgument, "sample interval must be >= 0");
  FS_CHECK(o.max_frames_per_window >= 1, kInvalidArgument, "max frames per window must be >= 1");
  FS_CHECK(o.max_pending_windows >= 1, kInvalidArgument, "max pending windows must be >= 1");
  for (const AlertRule& r : o.alerts) validate(r);
}

struct LiveJob::State {
  WindowEngine& describe;
  WindowEngine* alerts;
  LiveOptions opt;
  std::vector<core::EventSink*> sinks;
  LiveObserver* observer;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending> pending;
  // The next window's frames so far (WindowEngine::prefill), newest only; cleared when a
  // window is made or the ring is emptied.
  std::optional<WindowPlan> partial;
  bool reader_done = false;
  std::exception_ptr error;
  LiveStats stats;
  std::atomic<std::int64_t> gap_epoch{0};
  bool warned_prefill = false;  // worker thread only

  State(WindowEngine& d, WindowEngine* a, LiveOptions o, std::vector<core::EventSink*> s,
        LiveObserver* obs)
      : describe(d), alerts(a), opt(std::move(o)), sinks(std::move(s)), observer(obs) {}
};

LiveJob::LiveJob(std::string stream, WindowEngine& describe, WindowEngine* alerts,
                 LiveOptions options, std::vector<core::EventSink*> sinks, LiveObserver* observer)
    : stream_(std::move(stream)) {
  validate(options);
  FS_CHECK(options.alerts.empty() || alerts != nullptr, kInvalidArgument,
           stream_ << ": alert rules need an engine to score them");
  s_ = std::make_unique<State>(describe, alerts, std::move(options), std::move(sinks), observer);
}

LiveJob::~LiveJob() = default;

LiveStats LiveJob::stats() const {
  std::lock_guard lock(s_->mu);
  return s_->stats;
}

namespace {

// The window's frames: the newest always, then evenly spaced back to the oldest.
std::vector<const Sampled*> thin(const std::deque<Sampled>& ring, std::int64_t max_frames) {
  std::vector<const Sampled*> out;
  const auto n = static_cast<std::int64_t>(ring.size());
  if (n <= max_frames) {
    for (const Sampled& s : ring) out.push_back(&s);
    return out;
  }
  for (std::int64_t k = 0; k < max_frames; ++k) {
    const std::int64_t i = max_frames == 1 ? n - 1 : k * (n - 1) / (max_frames - 1);
    out.push_back(&ring[static_cast<std::size_t>(i)]);
  }
  return out;
}

// The frames of the ring that the window due at `due` will begin with, as far as that can be
// told at `now` (the newest frame's time): those still inside its span, and only when the frames
// still to come leave them unthinned (thinning would choose others). Empty: nothing to tell.
std::vector<PreparedFrame> ahead_frames(const std::deque<Sampled>& ring, const LiveOptions& o,
                                        std::int64_t now, std::int64_t due) {
  const std::int64_t to_come =
      o.sample_interval_ns > 0 ? (due - now) / o.sample_interval_ns : 0;  // at most
  std::size_t first = 0;
  if (o.window_frames > 0) {
    const std::int64_t keep = std::max<std::int64_t>(o.window_frames - to_come, 0);
    first = ring.size() - std::min<std::size_t>(ring.size(), static_cast<std::size_t>(keep));
  } else {
    while (first < ring.size() && ring[first].frame.frame.pts_ns <= due - o.window_ns) ++first;
  }
  std::vector<PreparedFrame> out;
  if (static_cast<std::int64_t>(ring.size() - first) + to_come > o.max_frames_per_window)
    return out;
  for (std::size_t i = first; i < ring.size(); ++i) out.push_back(ring[i].frame);
  return out;
}

// The engines prefill the next window's frames. A hint: a failure is logged once and never ends
// the job (the window itself reports an engine that fails at its turn).
void prefill_ahead(LiveJob::State& s, bool no_alerts, const WindowPlan& partial,
                   const core::StopFlag& stop, const std::string& stream) {
  std::string failed;
  try {
    // Alert questions run first on a window: their engine first.
    if (!no_alerts && s.alerts != nullptr && s.alerts != &s.describe)
      s.alerts->prefill(partial, stop);
    s.describe.prefill(partial, stop);
  } catch (const std::exception& e) {
    failed = e.what();
  } catch (...) {
    failed = "unknown error";
  }
  if (!failed.empty() && !s.warned_prefill)
    FS_LOG_WARN(stream << ": prefilling the next window's frames failed: " << failed);
  if (!failed.empty()) s.warned_prefill = true;
}

}  // namespace

void LiveJob::run(core::LiveFrameSource& source, const core::RunInfo& info,
                  const core::StopFlag& stop) {
  State& s = *s_;
  for (core::EventSink* sink : s.sinks) sink->begin(info);
  const std::int64_t t0 = mono_now_ns();

  std::thread worker([&] {
    EventMerger merger;
    std::vector<AlertTracker> trackers;
    for (const AlertRule& r : s.opt.alerts) trackers.emplace_back(r);
    std::int64_t epoch = 0;
    bool warned_unsupported = false;
    for (;;) {
      Pending p;
      {
        std::unique_lock lock(s.mu);
        s.cv.wait(lock,
                  [&] { return !s.pending.empty() || s.reader_done || s.partial.has_value(); });
        if (s.pending.empty() && !s.reader_done) {
          // Idle with frames of the next window already here: let the engine prefill them.
          WindowPlan partial = std::move(*s.partial);
          s.partial.reset();
          lock.unlock();
          prefill_ahead(s, trackers.empty(), partial, stop, stream_);
          continue;
        }
        if (s.pending.empty()) return;
        p = std::move(s.pending.front());
        s.pending.pop_front();
      }
      s.cv.notify_all();  // room for a reader that waits (wait_for_engine)
      try {
        if (const std::int64_t e = s.gap_epoch.load(); e != epoch) {
          epoch = e;
          for (AlertTracker& t : trackers) t.reset();
        }
        // Every question of the window in one call (an engine may prefill the frames once).
        std::vector<std::vector<double>> scores;
        if (!trackers.empty() && stop.level() < core::StopFlag::kAbandon) {
          std::vector<AlertQuestion> questions;
          for (const AlertTracker& t : trackers)
            questions.push_back({t.rule().question, t.rule().answers});
          try {
            scores = s.alerts->answer_probabilities_batch(p.plan, questions, stop);
          } catch (const Error& e) {
            if (e.code() != ErrorCode::kUnsupported) throw;
            std::lock_guard lock(s.mu);
            s.stats.alert_errors += static_cast<std::int64_t>(trackers.size());
            if (!warned_unsupported) FS_LOG_WARN(stream_ << ": " << e.what());
            warned_unsupported = true;
          }
        }
        for (std::size_t k = 0; k < trackers.size() && k < scores.size(); ++k) {
          AlertTracker& t = trackers[k];
          const std::vector<double>& probs = scores[k];
          if (probs.empty()) continue;
          if (auto fired = t.observe(probs[0], p.plan.end_ns)) {
            core::Alert a;
            a.stream = stream_;
            a.rule = t.rule().name;
            a.question = t.rule().question;
            a.score = fired->score;
            a.hits = fired->hits;
            a.of = t.rule().of;
            a.window_id = p.plan.id;
            a.pts_ns = p.plan.frames.empty() ? p.plan.end_ns : p.plan.frames.back().frame.pts_ns;
            a.wall_clock_ns = p.wall_clock_ns;
            a.snapshot = p.snapshot;
            {
              std::lock_guard lock(s.mu);
              ++s.stats.alerts_fired;
            }
            if (s.observer) s.observer->on_alert(a);
          }
        }
        if (stop.level() >= core::StopFlag::kAbandon) continue;
        const auto t = std::chrono::steady_clock::now();
        const WindowAnswer ans = s.describe.describe(p.plan, {}, stop);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        core::WindowResult w = window_result(p.plan, ans, ms);
        add_events(w, merger);
        for (core::EventSink* sink : s.sinks) sink->on_window(w);
        const double latency = static_cast<double>(mono_now_ns() - p.captured_mono_ns) * 1e-9;
        {
          std::lock_guard lock(s.mu);
          ++s.stats.windows_done;
          s.stats.last_latency_s = latency;
          s.stats.max_latency_s = std::max(s.stats.max_latency_s, latency);
          s.stats.sum_latency_s += latency;
          s.stats.last_description = w.answer;
          s.stats.last_window_wall_ns = p.wall_clock_ns;
        }
        if (s.observer) s.observer->on_window(stream_, w, latency, p.wall_clock_ns);
      } catch (...) {
        std::lock_guard lock(s.mu);
        s.error = std::current_exception();
        s.pending.clear();
        s.reader_done = true;
        return;
      }
    }
  });

  std::deque<Sampled> ring;
  std::int64_t last_sampled = core::kNoTimestamp;
  std::int64_t next_window = core::kNoTimestamp;
  std::int64_t next_id = 0;
  std::int64_t seq = 0;
  // The ring (its newest frame at `pts`) as a window, queued for the engine.
  std::int64_t last_window_pts = core::kNoTimestamp;
  // One packer for the job: each window is laid out from the frames chosen for it (thin()
  // keeps at most max_frames_per_window, so the cap never closes a window early).
  PackingOptions packing;
  packing.answer_reserve_tokens = s.opt.answer_reserve_tokens;
  packing.max_frames_per_window = s.opt.max_frames_per_window;
  packing.prompt_template = s.opt.prompt;
  packing.video_name = stream_;
  WindowPacker packer(packing, s.describe.coster());
  auto make_window = [&](std::int64_t pts) {
    last_window_pts = pts;
    // Lay the window out with the packer (labels, instruction, exact token count).
    const std::vector<const Sampled*> chosen = thin(ring, s.opt.max_frames_per_window);
    std::vector<PreparedFrame> frames;
    frames.reserve(chosen.size());
    for (const Sampled* c : chosen) frames.push_back(c->frame);
    std::optional<WindowPlan> plan =
        packer.pack(frames, pts + std::max<std::int64_t>(s.opt.sample_interval_ns, 1));
    if (!plan || plan->frames.empty()) return;
    plan->id = next_id++;
    Pending p;
    {
      std::lock_guard lock(s.mu);
      s.partial.reset();  // this window is newer
    }
    p.captured_mono_ns = chosen.back()->received_mono_ns;
    p.wall_clock_ns = chosen.back()->frame.frame.wall_clock_ns;
    p.snapshot = chosen.back()->frame.frame.image;
    p.plan = std::move(*plan);
    {
      std::unique_lock lock(s.mu);
      // A stop is no notification: look again every 200 ms.
      while (s.opt.wait_for_engine && s.pending.size() >= s.opt.max_pending_windows &&
             s.error == nullptr && !stop.stop_requested())
        s.cv.wait_for(lock, std::chrono::milliseconds(200));
      ++s.stats.windows_made;
      s.pending.push_back(std::move(p));
      while (s.pending.size() > s.opt.max_pending_windows) {
        s.pending.pop_front();
        ++s.stats.windows_dropped;
      }
    }
    s.cv.notify_all();
  };
  auto failed = [&] {
    std::lock_guard lock(s.mu);
    return s.error != nullptr;
  };
  try {
    while (!stop.stop_requested() && !failed()) {
      std::optional<core::LiveItem> item = source.next(std::chrono::milliseconds(200));
      if (!item) {
        // The source ended (a file played out; a live source ends only when stopped): the
        // frames sampled since the last window make one more, so a file shorter than the
        // interval is still described.
        if (!stop.stop_requested() && !ring.empty() &&
            ring.back().frame.frame.pts_ns != last_window_pts)
          make_window(ring.back().frame.frame.pts_ns);
        break;
      }
      if (item->gap) {
        {
          std::lock_guard lock(s.mu);
          ++s.stats.gaps;
        }
        s.gap_epoch.fetch_add(1);
        ring.clear();  // a window never spans an outage
        {
          std::lock_guard lock(s.mu);
          s.partial.reset();
        }
        last_sampled = core::kNoTimestamp;
        next_window = core::kNoTimestamp;
        if (s.observer) s.observer->on_gap(stream_, *item->gap);
      }
      if (!item->frame) continue;
      core::Frame& f = *item->frame;
      {
        std::lock_guard lock(s.mu);
        ++s.stats.frames_received;
        s.stats.last_frame_wall_ns = f.wall_clock_ns;
      }
      if (s.observer) s.observer->on_frame(stream_, f);
      if (last_sampled != core::kNoTimestamp && f.pts_ns - last_sampled < s.opt.sample_interval_ns)
        continue;
      last_sampled = f.pts_ns;
      Sampled sm;
      sm.frame.pixels = s.describe.prepare(f);
      sm.frame.seq = seq++;
      sm.frame.frame = std::move(f);
      sm.received_mono_ns = mono_now_ns();
      const std::int64_t pts = sm.frame.frame.pts_ns;
      ring.push_back(std::move(sm));
      {
        std::lock_guard lock(s.mu);
        ++s.stats.frames_sampled;
      }
      if (s.opt.window_frames > 0) {
        while (static_cast<std::int64_t>(ring.size()) > s.opt.window_frames) ring.pop_front();
      } else {
        while (!ring.empty() && ring.front().frame.frame.pts_ns <= pts - s.opt.window_ns)
          ring.pop_front();
      }
      if (next_window == core::kNoTimestamp)
        next_window = ring.front().frame.frame.pts_ns + s.opt.every_ns;
      if (pts < next_window) {
        // Not due yet: the frames the window will begin with, laid out as it will be (the
        // engine keeps what the window's prompts share with them; a wrong guess costs only
        // time, never a different answer).
        std::vector<PreparedFrame> frames;
        if (s.opt.prefill_ahead) frames = ahead_frames(ring, s.opt, pts, next_window);
        if (!frames.empty()) {
          std::optional<WindowPlan> plan = packer.pack(frames, next_window);
          if (plan && !plan->frames.empty()) {
            {
              std::lock_guard lock(s.mu);
              s.partial = std::move(plan);
            }
            s.cv.notify_all();
          }
        }
        continue;
      }
      next_window += s.opt.every_ns;
      if (next_window <= pts) next_window = pts + s.opt.every_ns;

      make_window(pts);
    }
  } catch (...) {
    std::lock_guard lock(s.mu);
    if (!s.error) s.error = std::current_exception();
  }
  {
    std::lock_guard lock(s.mu);
    s.reader_done = true;
    if (stop.stop_requested()) {
      s.stats.windows_dropped += static_cast<std::int64_t>(s.pending.size());
      s.pending.clear();
    }
  }
  s.cv.notify_all();
  source.request_stop();
  worker.join();

  std::exception_ptr error;
  core::RunEnd end;
  {
    std::lock_guard lock(s.mu);
    error = s.error;
    end.windows = s.stats.windows_done;
    end.frames_sampled = s.stats.frames_sampled;
  }
  end.wall_s = static_cast<double>(mono_now_ns() - t0) * 1e-9;
  if (error) {
    for (core::EventSink* sink : s.sinks) sink->abort();
    std::rethrow_exception(error);
  }
  end.status = stop.stop_requested() ? core::RunStatus::kStopped : core::RunStatus::kComplete;
  for (core::EventSink* sink : s.sinks) sink->finish(end);
}

}  // namespace framescribe::pipeline
