// Small pieces of `framescribe summarize`: the progress line, durations, help text.
#pragma once

#include <cstdint>
#include <string>

#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::apps {

// Seconds from the command line to nanoseconds; throws Error(kInvalidArgument) naming `option`
// for negative, non-finite or absurd values.
std::int64_t seconds_to_ns_checked(double seconds, const char* option);

// "1.2 s", "3 min 05 s", "1 h 02 min".
std::string format_duration(double seconds);

// One status line on stderr, redrawn at most twice a second when stderr is a terminal (every
// 10 s otherwise): media position and percentage, frames, windows, real-time factor, ETA.
class SummarizeProgress {
 public:
  SummarizeProgress(std::string video, bool enabled);
  void update(const pipeline::PipelineStats& s);  // thread-safe enough: calls are serialised
  void done(const pipeline::PipelineStats& s);

 private:
  std::string video_;
  bool enabled_;
  bool tty_;
  double last_ = -1;
  bool printed_ = false;
};

extern const char* const kSummarizeHelp;

}  // namespace framescribe::apps
