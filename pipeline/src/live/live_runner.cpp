#include "framescribe/pipeline/live/live_runner.h"

#include <atomic>
#include <thread>

namespace framescribe::pipeline {

LiveRunResult run_live_jobs(std::vector<LiveStream> streams, core::StopFlag& stop,
                            double duration_s,
                            const std::function<void(std::chrono::steady_clock::time_point)>& poll,
                            const std::function<void(const std::string&, const Error&)>& on_error,
                            std::chrono::milliseconds poll_interval) {
  std::atomic<int> failures{0};
  std::atomic<std::size_t> finished{0};  // streams whose job has ended (a file played out)
  std::vector<std::thread> threads;
  for (LiveStream& s : streams) {
    threads.emplace_back([&s, &stop, &failures, &finished, &on_error] {
      s.info.started_at = core::utc_now_iso8601();
      try {
        s.job->run(*s.source, s.info, stop);
      } catch (const Error& e) {
        ++failures;
        if (on_error) on_error(s.name, e);
        stop.request(core::StopFlag::kFinishWindow);
      }
      ++finished;
    });
  }
  LiveRunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  // Until a stop, the duration, or every stream has ended.
  while (!stop.stop_requested() && finished.load() < streams.size()) {
    std::this_thread::sleep_for(poll_interval);
    const auto now = std::chrono::steady_clock::now();
    if (poll) poll(now);
    if (duration_s > 0 && std::chrono::duration<double>(now - t0).count() >= duration_s) {
      r.timed_out = true;
      stop.request(core::StopFlag::kFinishWindow);
    }
  }
  for (LiveStream& s : streams) s.source->request_stop();
  for (std::thread& t : threads) t.join();
  r.failures = failures.load();
  return r;
}

}  // namespace framescribe::pipeline
