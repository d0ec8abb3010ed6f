// The batch runner: worker threads, skip/retry decisions, state changes, progress.
#include "framescribe/pipeline/batch/batch_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pipeline/engine_scheduler.h"

namespace framescribe::pipeline::batch {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct InputStat {
  std::int64_t size = -1;
  std::int64_t mtime_ns = 0;
};

InputStat stat_input(const BatchVideo& v) {
  if (v.is_url) return {};
  std::error_code ec;
  InputStat s;
  s.size = static_cast<std::int64_t>(fs::file_size(v.input, ec));
  if (ec) return {};
  const auto t = fs::last_write_time(v.input, ec);
  if (!ec)
    s.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return s;
}

bool outputs_present(const VideoRecord& r) {
  for (const OutputRecord& o : r.outputs) {
    std::error_code ec;
    const auto size = fs::file_size(o.path, ec);
    if (ec || static_cast<std::int64_t>(size) != o.bytes) return false;
  }
  return true;
}

// Temporary files a killed run left beside this video's outputs (AtomicFile names them
// "<target>.tmp-<pid>-<n>").
void remove_stale_temporaries(const BatchVideo& v) {
  std::error_code ec;
  for (fs::directory_iterator it(v.out_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(v.stem + ".") && name.find(".tmp-") != std::string::npos) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
}

enum class Decision { kRun, kSkipDone, kSkipGaveUp };

Decision decide(const BatchVideo& v, StateStore& state, const RunnerOptions& opt,
                const BatchHooks& hooks) {
  const std::optional<VideoRecord> r = state.get(v.identity);
  if (!r) return Decision::kRun;
  if (r->status == VideoStatus::kDone && outputs_present(*r)) {
    if (v.is_url) return Decision::kSkipDone;
    const InputStat now = stat_input(v);
    if (now.size == r->size_bytes && now.mtime_ns == r->mtime_ns) return Decision::kSkipDone;
    if (now.size == r->size_bytes && !r->sha256.empty() && hooks.sha256 &&
        hooks.sha256(v.input) == r->sha256) {
      state.touch_input(v.identity, now.size, now.mtime_ns);  // touched, not changed
      return Decision::kSkipDone;
    }
    return Decision::kRun;
  }
  if (r->status == VideoStatus::kFailed && r->attempts >= opt.max_attempts)
    return Decision::kSkipGaveUp;
  return Decision::kRun;
}

}  // namespace

BatchSummary run_batch(const std::vector<BatchVideo>& videos, StateStore& state,
                       WindowEngine& engine, const RunnerOptions& options, const BatchHooks& hooks,
                       core::StopFlag& stop,
                       const std::function<void(const BatchProgress&)>& progress) {
  // The calls of all workers run one at a time on the one engine.
  EngineScheduler scheduler(engine);
  std::vector<std::unique_ptr<WindowEngine>> clients;
  const WorkerEngines engines = [&](int worker) -> WindowEngine& {
    clients.push_back(scheduler.client("batch worker " + std::to_string(worker)));
    return *clients.back();
  };
  return run_batch(videos, state, engines, options, hooks, stop, progress);
}

BatchSummary run_batch(const std::vector<BatchVideo>& videos, StateStore& state,
                       const WorkerEngines& engines, const RunnerOptions& options,
                       const BatchHooks& hooks, core::StopFlag& stop,
                       const std::function<void(const BatchProgress&)>& progress) {
  FS_CHECK(options.parallel >= 1, kInvalidArgument, "parallel must be >= 1");
  FS_CHECK(hooks.open && hooks.sinks && hooks.options && engines, kInvalidArgument,
           "run_batch needs the open, sinks and options hooks and the engines");
  state.reset_interrupted();

  std::mutex mu;
  BatchProgress p;
  p.total = static_cast<std::int64_t>(videos.size());

  // Only the redacted name is printed or stored (the input may hold credentials).
  auto shown_of = [](const BatchVideo& v) { return v.display.empty() ? v.input : v.display; };
  auto name_of = [&](const BatchVideo& v) { return v.job + ":" + shown_of(v); };

  // Every video decided first, so the start can say how much there is to do.
  std::vector<std::size_t> todo;
  std::vector<std::string> gave_up;
  for (std::size_t i = 0; i < videos.size(); ++i) {
    Decision d = Decision::kRun;
    try {
      d = decide(videos[i], state, options, hooks);
    } catch (const Error& e) {
      FS_LOG_WARN(name_of(videos[i]) << ": cannot read its state: " << e.what());
    }
    if (d == Decision::kRun)
      todo.push_back(i);
    else if (d == Decision::kSkipDone)
      ++p.skipped;
    else
      gave_up.push_back(name_of(videos[i]));
  }
  p.to_run = static_cast<std::int64_t>(todo.size());
  p.gave_up = static_cast<std::int64_t>(gave_up.size());

  const Clock::time_point t0 = Clock::now();
  double run_s_sum = 0;  // wall time of the videos finished in this run
  // Media time, for the duration-weighted ETA (all under mu); a video whose duration is not
  // known yet counts as long as the mean of those known.
  std::map<std::size_t, RunningVideo> running;  // by position in `videos` (start order)
  double finished_media_s = 0;                  // of the videos finished in this run
  double known_duration_s = 0;                  // sum of the durations known so far
  std::int64_t known_durations = 0, started = 0;
  auto report = [&](ProgressChange change, const std::string& last) {  // call with mu held
    p.change = change;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    p.last = last;
    p.current.clear();
    double done_s = finished_media_s, left_s = 0;
    const double mean_s =
        known_durations > 0 ? known_duration_s / static_cast<double>(known_durations) : -1;
    bool left_known = mean_s >= 0;
    for (const auto& [i, r] : running) {
      p.current.push_back(r);
      done_s += r.media_done_s;
      const double d = r.duration_s >= 0 ? r.duration_s : mean_s;
      if (d >= 0) left_s += std::max(0.0, d - r.media_done_s);
    }
    const std::int64_t not_started = p.to_run - started;
    if (not_started > 0) left_s += static_cast<double>(not_started) * mean_s;
    if (p.to_run - p.done - (p.failed - p.gave_up) <= 0) {
      left_s = 0;
      left_known = true;
    }
    p.media_done_s = done_s;
    p.media_left_s = left_known ? left_s : -1;
    const std::int64_t finished = p.done + p.failed - p.gave_up;
    const std::int64_t left = p.to_run - finished;
    if (left_known && done_s > 0 && p.elapsed_s > 0) {
      p.eta_s = left_s / (done_s / p.elapsed_s);
    } else if (finished > 0) {  // no media times (streams without a duration): by video count
      p.eta_s = run_s_sum / static_cast<double>(finished) * static_cast<double>(left) /
                static_cast<double>(options.parallel);
    }
    if (progress) progress(p);
  };

  {
    std::lock_guard lock(mu);
    report(ProgressChange::kPlanned, "");
    for (const std::string& name : gave_up) {
      ++p.failed;
      report(ProgressChange::kVideo, name + ": gave up (max_attempts)");
    }
  }

  std::atomic<std::size_t> next{0};
  auto worker = [&](WindowEngine& engine) {
    while (!stop.stop_requested()) {
      const std::size_t k = next.fetch_add(1);
      if (k >= todo.size()) return;
      const std::size_t i = todo[k];
      const BatchVideo& v = videos[i];
      const std::string shown = shown_of(v);
      const std::string name = name_of(v);
      const Clock::time_point v0 = Clock::now();
      {
        std::lock_guard lock(mu);
        ++p.running;
        ++started;
        std::string file = fs::path(shown).filename().string();
        running[i] = RunningVideo{.name = file.empty() ? shown : file};
        report(ProgressChange::kVideo, name + ": started");
      }
      std::string failure;
      bool stopped = false;
      bool complete = false;
      try {
        state.mark_running(v.identity, v.job, shown);
        remove_stale_temporaries(v);
        core::RunInfo info;
        std::unique_ptr<core::FrameSource> source = hooks.open(v, stop, info);
        {
          std::lock_guard lock(mu);
          if (info.duration_ns != core::kNoTimestamp && info.duration_ns > 0) {
            running[i].duration_s = static_cast<double>(info.duration_ns) / 1e9;
            known_duration_s += running[i].duration_s;
            ++known_durations;
          }
        }
        VideoSinks vs = hooks.sinks(v);
        std::vector<core::EventSink*> sinks;
        for (auto& s : vs.sinks) sinks.push_back(s.get());
        VideoPipeline pipeline(engine, sinks, hooks.options(v));
        const RunResult r = pipeline.run(*source, info, stop, [&](const PipelineStats& st) {
          std::lock_guard lock(mu);
          RunningVideo& rv = running[i];
          if (rv.duration_s < 0 && st.media_end_ns != core::kNoTimestamp && st.media_end_ns > 0) {
            rv.duration_s = static_cast<double>(st.media_end_ns) / 1e9;  // the source's end
            known_duration_s += rv.duration_s;
            ++known_durations;
          }
          const double at = static_cast<double>(st.media_done_ns) / 1e9;
          if (at <= rv.media_done_s) return;  // nothing new (a frame sampled)
          rv.media_done_s = rv.duration_s >= 0 ? std::min(at, rv.duration_s) : at;
          report(ProgressChange::kMedia, name);
        });
        if (r.end.status == core::RunStatus::kComplete) {
          std::vector<OutputRecord> outputs;
          for (const fs::path& f : vs.files) {
            std::error_code ec;
            const auto bytes = fs::file_size(f, ec);
            FS_CHECK(!ec, kIo, f.string() << ": output missing after the run");
            outputs.push_back({f.string(), hooks.sha256 ? hooks.sha256(f) : std::string(),
                               static_cast<std::int64_t>(bytes)});
          }
          const InputStat st = stat_input(v);
          const std::string input_hash =
              !v.is_url && hooks.sha256 ? hooks.sha256(v.input) : std::string();
          state.mark_done(v.identity, st.size, st.mtime_ns, input_hash, outputs);
          complete = true;
        } else if (r.end.status == core::RunStatus::kStopped) {
          stopped = true;
          state.mark_pending(v.identity);
        } else {
          failure = r.end.error.empty() ? "failed" : r.end.error;
        }
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        // Messages name inputs redacted already; a message that quotes the input anyway (a
        // hook's own text) is cleaned before it is printed and stored.
        for (std::size_t at = failure.find(v.input);
             !v.input.empty() && shown != v.input && at != std::string::npos;
             at = failure.find(v.input, at + shown.size()))
          failure.replace(at, v.input.size(), shown);
        try {
          state.mark_failed(v.identity, failure);
        } catch (const Error& e) {
          FS_LOG_ERROR(name << ": cannot record the failure: " << e.what());
        }
      }
      std::lock_guard lock(mu);
      --p.running;
      run_s_sum += std::chrono::duration<double>(Clock::now() - v0).count();
      {
        const RunningVideo& rv = running[i];
        finished_media_s += complete && rv.duration_s >= 0 ? rv.duration_s : rv.media_done_s;
        running.erase(i);
      }
      if (stopped) {
        report(ProgressChange::kVideo, name + ": stopped");
      } else if (failure.empty()) {
        ++p.done;
        report(ProgressChange::kVideo, name + ": done");
      } else {
        ++p.failed;
        report(ProgressChange::kVideo, name + ": failed: " + failure);
      }
    }
  };

  // One engine per worker, made here (an error is the caller's, before any video starts).
  const int n =
      std::min<int>(options.parallel, static_cast<int>(std::max<std::size_t>(todo.size(), 1)));
  std::vector<WindowEngine*> worker_engines;
  for (int k = 0; k < n; ++k) worker_engines.push_back(&engines(k));

  // The ticker: progress at least every tick_s while videos run (a window may take minutes).
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool workers_done = false;
  std::thread ticker([&] {
    std::unique_lock tl(tick_mu);
    const auto period = std::chrono::duration<double>(std::max(0.01, options.tick_s));
    while (!tick_cv.wait_for(tl, period, [&] { return workers_done; })) {
      std::lock_guard lock(mu);
      if (p.running > 0) report(ProgressChange::kMedia, "");
    }
  });

  std::vector<std::thread> threads;
  for (int k = 0; k < n; ++k) threads.emplace_back(worker, std::ref(*worker_engines[k]));
  for (std::thread& t : threads) t.join();
  {
    std::lock_guard tl(tick_mu);
    workers_done = true;
  }
  tick_cv.notify_all();
  ticker.join();

  BatchSummary s;
  std::lock_guard lock(mu);
  p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  p.eta_s = 0;
  p.current.clear();
  s.final = p;
  s.stopped = stop.stop_requested();
  return s;
}

}  // namespace framescribe::pipeline::batch
