// Alert rules for live streams: a yes/no question asked of every window, scored from the
// model's probabilities (WindowEngine::answer_probabilities), fired once per episode.
//
//   pipeline::AlertRule rule{.name = "person", .question = "Is there a person? Answer yes or no.",
//                            .threshold = 0.7, .need = 2, .of = 3, .cooldown_ns = 60'000'000'000};
//   pipeline::AlertTracker t(rule);
//   if (auto fired = t.observe(score, now_ns)) deliver(*fired);   // score = P("yes")
//
// Semantics: a window is a hit when score >= threshold. An episode starts when at least `need`
// of the last `of` windows are hits; the alert fires at that window, unless the previous firing
// was less than cooldown_ns before it (then the episode is counted as suppressed and never
// fires). The episode ends when fewer than `need` of the last `of` windows are hits; only then
// can another episode start. Plain value; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace framescribe::pipeline {

// The cooldown of a rule that names none, on the command line (--alert-cooldown) and in a
// monitor config alike.
inline constexpr std::int64_t kDefaultAlertCooldownNs = 60'000'000'000;

struct AlertRule {
  std::string name;
  std::string question;                              // asked after the window's frames
  std::vector<std::string> answers = {"yes", "no"};  // the score is P(answers[0])
  double threshold = 0.5;
  int need = 1;  // N of
  int of = 1;    // the last M windows
  std::int64_t cooldown_ns = 0;
};

void validate(const AlertRule& rule);  // throws Error(kInvalidArgument) naming the rule

// A rule from the command line's `--alert`: "NAME=QUESTION" (NAME 1 to 39 characters, no space),
// else the whole text is the question and the name is "alert<number>" (`number` from 1). The
// other fields keep their defaults.
AlertRule parse_alert_rule(const std::string& text, int number);

struct AlertFiring {
  double score = 0;
  int hits = 0;  // of the last `of` windows
};

class AlertTracker {
 public:
  explicit AlertTracker(AlertRule rule);
  std::optional<AlertFiring> observe(double score, std::int64_t now_ns);
  const AlertRule& rule() const { return rule_; }
  bool in_episode() const { return in_episode_; }
  std::int64_t fired() const { return fired_; }
  std::int64_t suppressed() const { return suppressed_; }
  // A gap in the stream: the history of hits is forgotten (the episode ends).
  void reset();

 private:
  AlertRule rule_;
  std::deque<bool> last_;
  bool in_episode_ = false;
  bool ever_fired_ = false;
  std::int64_t last_fire_ns_ = 0;
  std::int64_t fired_ = 0, suppressed_ = 0;
};

}  // namespace framescribe::pipeline
