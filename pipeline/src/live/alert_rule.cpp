#include "framescribe/pipeline/live/alert_rule.h"

#include <algorithm>
#include <utility>

#include "framescribe/core/error.h"

namespace framescribe::pipeline {

void validate(const AlertRule& r) {
  FS_CHECK(!r.question.empty(), kInvalidArgument, "alert '" << r.name << "': empty question");
  FS_CHECK(r.answers.size() >= 2, kInvalidArgument,
           "alert '" << r.name << "': needs at least two answers (yes and no)");
  FS_CHECK(r.threshold >= 0 && r.threshold <= 1, kInvalidArgument,
           "alert '" << r.name << "': threshold must be in [0, 1], got " << r.threshold);
  FS_CHECK(r.need >= 1 && r.of >= r.need, kInvalidArgument,
           "alert '" << r.name << "': need N of M windows with 1 <= N <= M, got " << r.need
                     << " of " << r.of);
  FS_CHECK(r.cooldown_ns >= 0, kInvalidArgument, "alert '" << r.name << "': negative cooldown");
}

AlertTracker::AlertTracker(AlertRule rule) : rule_(std::move(rule)) {
  validate(rule_);
}

std::optional<AlertFiring> AlertTracker::observe(double score, std::int64_t now_ns) {
  last_.push_back(score >= rule_.threshold);
  while (static_cast<int>(last_.size()) > rule_.of) last_.pop_front();
  const int hits = static_cast<int>(std::count(last_.begin(), last_.end(), true));
  if (hits < rule_.need) {
    in_episode_ = false;
    return std::nullopt;
  }
  if (in_episode_) return std::nullopt;
  in_episode_ = true;
  if (ever_fired_ && now_ns - last_fire_ns_ < rule_.cooldown_ns) {
    ++suppressed_;
    return std::nullopt;
  }
  ever_fired_ = true;
  last_fire_ns_ = now_ns;
  ++fired_;
  return AlertFiring{score, hits};
}

void AlertTracker::reset() {
  last_.clear();
  in_episode_ = false;
}

AlertRule parse_alert_rule(const std::string& a, int number) {
  AlertRule r;
  const auto eq = a.find('=');
  const bool named = eq != std::string::npos && eq > 0 && eq < 40 &&
                     a.substr(0, eq).find(' ') == std::string::npos;
  r.name = named ? a.substr(0, eq) : "alert" + std::to_string(number);
  r.question = named ? a.substr(eq + 1) : a;
  return r;
}

}  // namespace framescribe::pipeline
