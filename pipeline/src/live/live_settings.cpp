#include "framescribe/pipeline/live/live_settings.h"

#include <algorithm>

#include "framescribe/pipeline/batch/job_run.h"  // seconds_to_ns_checked

namespace framescribe::pipeline {

LiveOptions live_options(const LiveSettings& s, std::int64_t answer_reserve_tokens) {
  LiveOptions lo;
  lo.every_ns = seconds_to_ns_checked(s.every_s, "--interval");
  lo.window_ns = seconds_to_ns_checked(s.window_s, "--window");
  lo.window_frames = s.frames;
  lo.sample_interval_ns = seconds_to_ns_checked(s.sample_s, "--sample");
  lo.max_frames_per_window = s.frames > 0 ? std::max(s.frames, s.max_frames) : s.max_frames;
  lo.max_pending_windows = static_cast<std::size_t>(std::max<std::int64_t>(s.max_pending, 1));
  lo.answer_reserve_tokens = answer_reserve_tokens;
  lo.prompt = s.prompt;
  for (std::size_t i = 0; i < s.alerts.size(); ++i) {
    AlertRule r = parse_alert_rule(s.alerts[i], static_cast<int>(i + 1));
    r.threshold = s.alert_threshold;
    r.need = s.alert_need;
    r.of = s.alert_of;
    r.cooldown_ns = seconds_to_ns_checked(s.alert_cooldown_s, "--alert-cooldown");
    lo.alerts.push_back(std::move(r));
  }
  validate(lo);
  return lo;
}

}  // namespace framescribe::pipeline
