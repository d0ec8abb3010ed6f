// Alert rules: threshold, N of M, once per episode, cooldown (pure state machine).
#include <gtest/gtest.h>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/live/alert_rule.h"

namespace framescribe::pipeline {
namespace {

constexpr std::int64_t kS = 1'000'000'000;

// Feeds scores one second apart; returns the indexes that fired.
std::vector<int> fire_indexes(const AlertRule& r, const std::vector<double>& scores) {
  AlertTracker t(r);
  std::vector<int> out;
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (t.observe(scores[i], static_cast<std::int64_t>(i) * kS)) out.push_back(static_cast<int>(i));
  return out;
}

TEST(AlertRule, ThresholdIsInclusive) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.7};
  EXPECT_EQ(fire_indexes(r, {0.69, 0.2}), std::vector<int>{});
  EXPECT_EQ(fire_indexes(r, {0.69, 0.7}), std::vector<int>{1});
}

TEST(AlertRule, FiresOncePerEpisode) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.5};
  // Two episodes: [1,3] and [6,7].
  EXPECT_EQ(fire_indexes(r, {0.1, 0.9, 0.8, 0.95, 0.2, 0.1, 0.9, 0.9}), (std::vector<int>{1, 6}));
}

TEST(AlertRule, NeedsNOfTheLastM) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.5, .need = 2, .of = 3};
  // hit, miss, miss, hit, miss, hit (2 of last 3 at index 5) ...
  EXPECT_EQ(fire_indexes(r, {0.9, 0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.9}), std::vector<int>{5});
  // A single hit never fires.
  EXPECT_EQ(fire_indexes(r, {0.9, 0.1, 0.1, 0.9, 0.1, 0.1}), std::vector<int>{});
}

TEST(AlertRule, EpisodeEndsWhenHitsFallBelowN) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.5, .need = 2, .of = 3};
  // fires at 1; at 3 the last three are (h, m, m): 1 hit < 2 -> episode over; fires again at 5.
  EXPECT_EQ(fire_indexes(r, {0.9, 0.9, 0.1, 0.1, 0.9, 0.9}), (std::vector<int>{1, 5}));
}

TEST(AlertRule, CooldownSuppressesEpisodesThatStartTooSoon) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.5, .cooldown_ns = 5 * kS};
  AlertTracker t(r);
  std::vector<int> fired;
  const std::vector<double> s = {0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1};
  for (std::size_t i = 0; i < s.size(); ++i)
    if (t.observe(s[i], static_cast<std::int64_t>(i) * kS)) fired.push_back(static_cast<int>(i));
  // 0 fires; 2 and 4 are within 5 s of it; 6 is 6 s later.
  EXPECT_EQ(fired, (std::vector<int>{0, 6}));
  EXPECT_EQ(t.suppressed(), 2);
  EXPECT_EQ(t.fired(), 2);
}

TEST(AlertRule, ResetEndsTheEpisode) {
  AlertRule r{.name = "a", .question = "q?", .threshold = 0.5};
  AlertTracker t(r);
  EXPECT_TRUE(t.observe(0.9, 0));
  EXPECT_FALSE(t.observe(0.9, kS));
  t.reset();
  EXPECT_TRUE(t.observe(0.9, 2 * kS));
}

TEST(AlertRule, InvalidRulesAreRejected) {
  EXPECT_THROW(AlertTracker(AlertRule{.name = "a", .question = ""}), Error);
  EXPECT_THROW(AlertTracker(AlertRule{.name = "a", .question = "q", .threshold = 1.5}), Error);
  EXPECT_THROW(AlertTracker(AlertRule{.name = "a", .question = "q", .need = 3, .of = 2}), Error);
  EXPECT_THROW(AlertTracker(AlertRule{.name = "a", .question = "q", .answers = {"yes"}}), Error);
}

TEST(AlertRule, ParsesNameEqualsQuestion) {
  const pipeline::AlertRule named = pipeline::parse_alert_rule("circle=Is there a circle?", 1);
  EXPECT_EQ(named.name, "circle");
  EXPECT_EQ(named.question, "Is there a circle?");
  const pipeline::AlertRule plain = pipeline::parse_alert_rule("Is anything yellow?", 2);
  EXPECT_EQ(plain.name, "alert2");
  EXPECT_EQ(plain.question, "Is anything yellow?");
  // A name with a space, an empty name or one of 40 characters: the whole text is the question.
  EXPECT_EQ(pipeline::parse_alert_rule("a b=c?", 3).question, "a b=c?");
  EXPECT_EQ(pipeline::parse_alert_rule("=c?", 4).name, "alert4");
  EXPECT_EQ(pipeline::parse_alert_rule(std::string(40, 'x') + "=q", 5).name, "alert5");
  EXPECT_EQ(pipeline::parse_alert_rule(std::string(39, 'x') + "=q", 6).name, std::string(39, 'x'));
}

}  // namespace
}  // namespace framescribe::pipeline
