#include "framescribe/pipeline/progress_text.h"

#include <algorithm>
#include <cstdio>

#include "framescribe/core/text_match.h"

namespace framescribe::pipeline {

std::string run_progress_text(const std::string& video, const PipelineStats& s) {
  const double done_s = core::ns_to_seconds(s.media_done_ns);
  const double total_s =
      s.media_end_ns == core::kNoTimestamp ? 0 : core::ns_to_seconds(s.media_end_ns);
  const double speed = s.wall_s > 0 ? done_s / s.wall_s : 0;
  std::string line = video + ": ";
  char buf[256];
  if (s.summarizing) {
    line += "summarising";
  } else {
    if (total_s > 0) {
      std::snprintf(
          buf, sizeof buf, "%s / %s (%.0f%%)", core::format_timestamp(s.media_done_ns).c_str(),
          core::format_timestamp(s.media_end_ns).c_str(), 100.0 * std::min(1.0, done_s / total_s));
    } else {
      std::snprintf(buf, sizeof buf, "%s", core::format_timestamp(s.media_done_ns).c_str());
    }
    line += buf;
    std::snprintf(buf, sizeof buf, ", %lld frames, %lld windows, %.2fx real time",
                  static_cast<long long>(s.frames_sampled), static_cast<long long>(s.windows_done),
                  speed);
    line += buf;
    if (total_s > 0 && speed > 0 && done_s > 0)
      line += ", ETA " + core::format_duration((total_s - done_s) / speed);
  }
  return line;
}

namespace batch {

std::string progress_text(const BatchProgress& p) {
  std::string s = "videos " + std::to_string(p.done + p.skipped) + "/" + std::to_string(p.total) +
                  " done (" + std::to_string(p.skipped) + " earlier), " + std::to_string(p.failed) +
                  " failed, " + std::to_string(p.running) + " running";
  char buf[64];
  for (std::size_t k = 0; k < p.current.size(); ++k) {
    const RunningVideo& v = p.current[k];
    s += k == 0 ? ": " : ", ";
    s += v.name + " ";
    if (v.duration_s > 0) {
      std::snprintf(buf, sizeof buf, "%.0f%%",
                    100.0 * std::min(1.0, v.media_done_s / v.duration_s));
    } else if (v.media_done_s > 0) {  // a stream without a duration
      std::snprintf(buf, sizeof buf, "at %s", core::format_duration(v.media_done_s).c_str());
    } else {
      std::snprintf(buf, sizeof buf, "starting");
    }
    s += buf;
  }
  s += "; " + core::format_duration(p.elapsed_s);
  if (p.eta_s >= 0) s += ", ETA " + core::format_duration(p.eta_s);
  return s;
}

std::string planned_text(const BatchProgress& p) {
  std::string s =
      std::to_string(p.skipped) + " already done, " + std::to_string(p.to_run) + " to run";
  if (p.gave_up > 0)
    s += ", " + std::to_string(p.gave_up) + " given up on (failed batch.max_attempts times)";
  return s;
}

bool video_finished(const BatchProgress& p) {
  return p.change == ProgressChange::kVideo &&
         (p.last.ends_with(": done") || p.last.find(": failed") != std::string::npos ||
          p.last.find(": gave up") != std::string::npos);
}

}  // namespace batch
}  // namespace framescribe::pipeline
