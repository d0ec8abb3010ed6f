// The batch runner: worker threads, skip/retry decisions, state changes, progress.
#include "framescribe/pipeline/batch/batch_runner.h"

#include <atomic>
#include <chrono>
#include <mutex>
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
  FS_CHECK(options.parallel >= 1, kInvalidArgument, "parallel must be >= 1");
  FS_CHECK(hooks.open && hooks.sinks && hooks.options, kInvalidArgument,
           "run_batch needs the open, sinks and options hooks");
  state.reset_interrupted();

  EngineScheduler scheduler(engine);
  std::mutex mu;
  BatchProgress p;
  p.total = static_cast<std::int64_t>(videos.size());
  const Clock::time_point t0 = Clock::now();
  double run_s_sum = 0;                         // wall time of the videos finished in this run
  auto report = [&](const std::string& last) {  // call with mu held
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    p.last = last;
    const std::int64_t finished = p.done + p.failed;
    const std::int64_t left = p.total - p.skipped - finished;
    if (finished > 0) {
      p.eta_s = run_s_sum / static_cast<double>(finished) * static_cast<double>(left) /
                static_cast<double>(options.parallel);
    }
    if (progress) progress(p);
  };

  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    while (!stop.stop_requested()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= videos.size()) return;
      const BatchVideo& v = videos[i];
      // Only the redacted name is printed or stored (the input may hold credentials).
      const std::string shown = v.display.empty() ? v.input : v.display;
      const std::string name = v.job + ":" + shown;
      Decision d = Decision::kRun;
      try {
        d = decide(v, state, options, hooks);
      } catch (const Error& e) {
        FS_LOG_WARN(name << ": cannot read its state: " << e.what());
      }
      if (d != Decision::kRun) {
        std::lock_guard lock(mu);
        if (d == Decision::kSkipDone)
          ++p.skipped;
        else
          ++p.failed;
        report(name + (d == Decision::kSkipDone ? ": already done" : ": gave up (max_attempts)"));
        continue;
      }
      const Clock::time_point v0 = Clock::now();
      {
        std::lock_guard lock(mu);
        ++p.running;
        report(name + ": started");
      }
      std::string failure;
      bool stopped = false;
      try {
        state.mark_running(v.identity, v.job, shown);
        remove_stale_temporaries(v);
        core::RunInfo info;
        std::unique_ptr<FrameSource> source = hooks.open(v, stop, info);
        VideoSinks vs = hooks.sinks(v);
        std::vector<core::EventSink*> sinks;
        for (auto& s : vs.sinks) sinks.push_back(s.get());
        std::unique_ptr<WindowEngine> client = scheduler.client(name);
        VideoPipeline pipeline(*client, sinks, hooks.options(v));
        const RunResult r = pipeline.run(*source, info, stop);
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
      if (stopped) {
        report(name + ": stopped");
      } else if (failure.empty()) {
        ++p.done;
        report(name + ": done");
      } else {
        ++p.failed;
        report(name + ": failed: " + failure);
      }
    }
  };

  std::vector<std::thread> threads;
  const int n =
      std::min<int>(options.parallel, static_cast<int>(std::max<std::size_t>(videos.size(), 1)));
  for (int k = 0; k < n; ++k) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  BatchSummary s;
  std::lock_guard lock(mu);
  p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  p.eta_s = 0;
  s.final = p;
  s.stopped = stop.stop_requested();
  return s;
}

}  // namespace framescribe::pipeline::batch
