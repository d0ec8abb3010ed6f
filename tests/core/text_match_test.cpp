// core/text_match.h: edit distance, "did you mean" candidates, alternatives, durations.
#include "framescribe/core/text_match.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace framescribe::core {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "ab"), 2u);
  EXPECT_EQ(edit_distance("--fps", "--fps"), 0u);
  EXPECT_EQ(edit_distance("--fp", "--fps"), 1u);             // insertion
  EXPECT_EQ(edit_distance("--fpss", "--fps"), 1u);           // deletion
  EXPECT_EQ(edit_distance("--fqs", "--fps"), 1u);            // substitution
  EXPECT_EQ(edit_distance("--max-egde", "--max-edge"), 1u);  // adjacent swap is one edit
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);  // restricted swaps: no edit of a swapped pair
}

TEST(ClosestNames, KeepsTheNearestWithinAThirdOfTheWord) {
  const std::vector<std::string> names = {"--max-edge", "--max-tokens", "--fps", "-m", "--model"};
  EXPECT_EQ(closest_names("--max-egde", names), std::vector<std::string>{"--max-edge"});
  EXPECT_EQ(closest_names("--fp", names), std::vector<std::string>{"--fps"});
  EXPECT_EQ(closest_names("--mdl", names), std::vector<std::string>{"--model"});
  // Nothing close: "--zzzzzzzz" is far from every name.
  EXPECT_TRUE(closest_names("--zzzzzzzz", names).empty());
  // Two-character names are never proposed, even at distance 1.
  EXPECT_TRUE(closest_names("-mm", {"-m"}).empty());
}

TEST(ClosestNames, APrefixOfFourOrMoreCountsAsOneEditAndTiesKeepTheirOrder) {
  const std::vector<std::string> names = {"--max-gap", "--max-frames", "--fps", "--max-gap",
                                          "--max-tokens"};
  EXPECT_EQ(closest_names("--max", names),
            (std::vector<std::string>{"--max-gap", "--max-frames", "--max-tokens"}));
  // A three-character word is not expanded by prefix: "--m" is 6 edits from "--max-gap".
  EXPECT_TRUE(closest_names("--m", {"--max-gap"}).empty());
  // A nearer name replaces the prefix matches; one as near joins them.
  EXPECT_EQ(closest_names("--max", {"--max-gap", "--max"}), std::vector<std::string>{"--max"});
  EXPECT_EQ(closest_names("--max", {"--max-gap", "--mat"}),
            (std::vector<std::string>{"--max-gap", "--mat"}));
}

TEST(JoinAlternatives, CommasThenOr) {
  EXPECT_EQ(join_alternatives({}), "");
  EXPECT_EQ(join_alternatives({"a"}), "a");
  EXPECT_EQ(join_alternatives({"a", "b"}), "a or b");
  EXPECT_EQ(join_alternatives({"a", "b", "c"}), "a, b or c");
}

TEST(FormatDuration, SecondsMinutesHours) {
  EXPECT_EQ(format_duration(0), "0.0 s");
  EXPECT_EQ(format_duration(1.24), "1.2 s");
  EXPECT_EQ(format_duration(59.9), "59.9 s");
  EXPECT_EQ(format_duration(185), "3 min 05 s");
  EXPECT_EQ(format_duration(3725), "1 h 02 min");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::nan("")), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?");
}

}  // namespace
}  // namespace framescribe::core
