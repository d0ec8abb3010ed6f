// The windows and alert rules of `framescribe monitor` as its command line gives them (seconds,
// counts, texts), and the LiveOptions they make.
//
//   pipeline::LiveSettings s;                 // filled by the command line (--interval, ...)
//   s.alerts = {"person=Is there a person?"};
//   pipeline::LiveOptions lo = pipeline::live_options(s, /*answer_reserve_tokens=*/128);
//
// Errors: throws Error(kInvalidArgument) naming the option for a bad time (--interval, --window,
// --sample, --alert-cooldown: negative, non-finite or absurd), a bad --alert text, and whatever
// validate(LiveOptions) refuses. Plain values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framescribe/pipeline/live/alert_rule.h"
#include "framescribe/pipeline/live/live_job.h"

namespace framescribe::pipeline {

struct LiveSettings {
  double every_s = 10;      // --interval: a window every S seconds
  double window_s = 10;     // --window: of the last S seconds
  std::int64_t frames = 0;  // --frames: of the last K sampled frames instead (0: --window)
  double sample_s = 1;      // --sample: one frame every S seconds
  std::int64_t max_frames = 8, max_pending = 1;  // --max-frames-per-window, --max-pending
  std::string prompt;                            // --prompt (empty: the default)
  std::vector<std::string> alerts;               // --alert: QUESTION or NAME=QUESTION
  double alert_threshold = 0.5;
  int alert_need = 1, alert_of = 1;
  double alert_cooldown_s = static_cast<double>(kDefaultAlertCooldownNs) / 1e9;
};

// The live job's options: times in nanoseconds, a window takes at least `frames` frames when
// that is given (max_frames_per_window = max(frames, max_frames)), at least one pending window,
// one rule per --alert (parse_alert_rule, numbered from 1) with the threshold, N of M and
// cooldown; validated.
LiveOptions live_options(const LiveSettings& s, std::int64_t answer_reserve_tokens);

}  // namespace framescribe::pipeline
