// parse_events and EventMerger: every accepted timestamp form, rebasing, clamping, fallback,
// hostile input, and de-duplication across overlapping windows. Expectations are hand-computed.
#include "framescribe/pipeline/events.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace framescribe::pipeline {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000'000'000;

// The window of most tests: [0 s, 60 s), id 7.
constexpr WindowSpan kMinute{.id = 7, .start_ns = 0, .end_ns = 60 * kS};

// What every event must satisfy, whatever the input.
void expect_invariants(const std::vector<core::Event>& events, const WindowSpan& w,
                       std::string_view answer) {
  bool blank = true;
  for (char c : answer) blank = blank && (c == ' ' || (c >= '\t' && c <= '\r'));
  EXPECT_EQ(events.empty(), blank);
  for (const core::Event& e : events) {
    EXPECT_LE(w.start_ns, e.start_ns);
    EXPECT_LE(e.start_ns, e.end_ns);
    EXPECT_LE(e.end_ns, w.end_ns);
    EXPECT_FALSE(e.text.empty());
    EXPECT_EQ(e.window_id, w.id);
    if (!e.text.empty()) {
      EXPECT_NE(e.text.front(), ' ');
      EXPECT_NE(e.text.back(), ' ');
    }
    EXPECT_EQ(e.text.find('\n'), std::string::npos);
    EXPECT_EQ(e.text.find("  "), std::string::npos);
  }
}

// Parses an answer that must give exactly one timed event and returns it.
core::Event one_event(std::string_view answer, const WindowSpan& w = kMinute) {
  const std::vector<core::Event> events = parse_events(answer, w);
  expect_invariants(events, w, answer);
  EXPECT_EQ(events.size(), 1u) << answer;
  if (events.empty()) return {};
  EXPECT_TRUE(events[0].timed) << answer;
  return events[0];
}

void expect_span(const core::Event& e, std::int64_t start_ns, std::int64_t end_ns,
                 std::string_view text) {
  EXPECT_EQ(e.start_ns, start_ns) << e.text;
  EXPECT_EQ(e.end_ns, end_ns) << e.text;
  EXPECT_EQ(e.text, text);
}

// ---- accepted forms ----

TEST(ParseEvents, BracketedRangeAsPrompted) {
  const core::Event e = one_event("[00:05.0-00:12.0] A man enters the kitchen.");
  expect_span(e, 5 * kS, 12 * kS, "A man enters the kitchen.");
  EXPECT_EQ(e.window_id, 7);
}

TEST(ParseEvents, SpacesAroundTheDash) {
  expect_span(one_event("[00:05.0 - 00:12.0] text"), 5 * kS, 12 * kS, "text");
}

TEST(ParseEvents, UnbracketedRangeWithColon) {
  expect_span(one_event("00:05-00:12: text"), 5 * kS, 12 * kS, "text");
}

TEST(ParseEvents, DashesAndTo) {
  expect_span(one_event("- [00:05.0\xE2\x80\x93"
                        "00:12.0] en dash"),
              5 * kS, 12 * kS, "en dash");
  expect_span(one_event("[00:05.0 \xE2\x80\x94 00:12.0] em dash"), 5 * kS, 12 * kS, "em dash");
  expect_span(one_event("[00:05 to 00:12] to"), 5 * kS, 12 * kS, "to");
  expect_span(one_event("[00:05 TO 00:12] upper"), 5 * kS, 12 * kS, "upper");
  expect_span(one_event("00:05 --> 00:12 arrow"), 5 * kS, 12 * kS, "arrow");
  expect_span(one_event("[00:05] - [00:12] two brackets"), 5 * kS, 12 * kS, "two brackets");
  expect_span(one_event("(00:05-00:12) parens"), 5 * kS, 12 * kS, "parens");
}

TEST(ParseEvents, BulletsAndNumbering) {
  expect_span(one_event("* [00:05-00:12] star"), 5 * kS, 12 * kS, "star");
  expect_span(one_event("+ 00:05-00:12 plus"), 5 * kS, 12 * kS, "plus");
  expect_span(one_event("\xE2\x80\xA2 [00:05-00:12] bullet"), 5 * kS, 12 * kS, "bullet");
  expect_span(one_event("  1. [00:05-00:12] first"), 5 * kS, 12 * kS, "first");
  expect_span(one_event("12) 00:05-00:12 twelfth"), 5 * kS, 12 * kS, "twelfth");
  expect_span(one_event("- 3. **[00:05-00:12]** both"), 5 * kS, 12 * kS, "both");
}

TEST(ParseEvents, MarkdownBoldAroundTimes) {
  expect_span(one_event("**[00:05-00:12]** bold"), 5 * kS, 12 * kS, "bold");
  expect_span(one_event("**00:05 - 00:12**: bold"), 5 * kS, 12 * kS, "bold");
  expect_span(one_event("[**00:05**-**00:12**] inner"), 5 * kS, 12 * kS, "inner");
  // Emphasis in the text after a space is the text's own.
  expect_span(one_event("[00:05-00:12] *waves*"), 5 * kS, 12 * kS, "*waves*");
}

TEST(ParseEvents, TimesWithoutOrWithLongFractions) {
  expect_span(one_event("[0:05-0:12] short minutes"), 5 * kS, 12 * kS, "short minutes");
  expect_span(one_event("[00:05.123456789999-00:05.25] x"), 5 * kS + 123'456'789,
              5 * kS + 250 * kMs, "x");
}

TEST(ParseEvents, HoursAndLongMinutes) {
  const WindowSpan w{.id = 1, .start_ns = 3600 * kS, .end_ns = 3900 * kS};
  expect_span(one_event("[1:02:03.5-1:02:10] past an hour", w), 3723 * kS + 500 * kMs, 3730 * kS,
              "past an hour");
  // Minutes past 59 without an hour field are still minutes.
  expect_span(one_event("[62:03-62:10] long minutes", w), 3723 * kS, 3730 * kS, "long minutes");
}

TEST(ParseEvents, SecondsForm) {
  const WindowSpan w{.id = 2, .start_ns = 60 * kS, .end_ns = 90 * kS};
  expect_span(one_event("65.5s-70s: seconds", w), 65 * kS + 500 * kMs, 70 * kS, "seconds");
  // "70 seconds" with a space is not a time: a single time, the rest is text.
  expect_span(one_event("[65sec - 70 seconds] not a unit", w), 65 * kS, 90 * kS,
              "70 seconds] not a unit");
  expect_span(one_event("[65seconds to 70secs] words", w), 65 * kS, 70 * kS, "words");
}

TEST(ParseEvents, SingleTimeEndsAtTheNextStartOrTheWindowEnd) {
  const std::vector<core::Event> events =
      parse_events("[0:05] a door opens\n[0:20] a dog runs\n[0:10] out of order", kMinute);
  ASSERT_EQ(events.size(), 3u);
  expect_span(events[0], 5 * kS, 20 * kS, "a door opens");
  // The next start (10 s) is earlier: the window end.
  expect_span(events[1], 20 * kS, 60 * kS, "a dog runs");
  expect_span(events[2], 10 * kS, 60 * kS, "out of order");
}

TEST(ParseEvents, SeparatorWithoutSecondTimeBelongsToText) {
  expect_span(one_event("[0:05] - a man"), 5 * kS, 60 * kS, "a man");
  expect_span(one_event("[0:05] to the left, a dog"), 5 * kS, 60 * kS, "to the left, a dog");
  expect_span(one_event("[0:05] today it rains"), 5 * kS, 60 * kS, "today it rains");
}

TEST(ParseEvents, TextIsCleaned) {
  expect_span(one_event("[00:05-00:12] :  -  A   man\tenters  "), 5 * kS, 12 * kS, "A man enters");
  expect_span(one_event("[00:05-00:12] \xE2\x80\x94 | em dash"), 5 * kS, 12 * kS, "em dash");
}

TEST(ParseEvents, ContinuationLinesJoinThePreviousEvent) {
  const std::vector<core::Event> events = parse_events(
      "Here is what happens:\n[00:05-00:12] A man\n   walks in.\n\n[00:20-00:30] He sits.\n"
      "He reads.",
      kMinute);
  ASSERT_EQ(events.size(), 2u);
  expect_span(events[0], 5 * kS, 12 * kS, "A man walks in.");
  expect_span(events[1], 20 * kS, 30 * kS, "He sits. He reads.");
}

TEST(ParseEvents, TimestampOnItsOwnLine) {
  expect_span(one_event("[00:05-00:12]\nA man enters."), 5 * kS, 12 * kS, "A man enters.");
}

TEST(ParseEvents, WindowsLineEndings) {
  const std::vector<core::Event> events =
      parse_events("[00:05-00:12] a\r\n\r\n[00:13-00:14] b\r\n", kMinute);
  ASSERT_EQ(events.size(), 2u);
  expect_span(events[0], 5 * kS, 12 * kS, "a");
  expect_span(events[1], 13 * kS, 14 * kS, "b");
}

// ---- rebasing and clamping ----

TEST(ParseEvents, AbsoluteTimesStayAbsolute) {
  const WindowSpan w{.id = 3, .start_ns = 120 * kS, .end_ns = 150 * kS};
  expect_span(one_event("[02:05-02:12] x", w), 125 * kS, 132 * kS, "x");
}

TEST(ParseEvents, RelativeAnswerIsRebased) {
  const WindowSpan w{.id = 3, .start_ns = 120 * kS, .end_ns = 150 * kS};
  const std::vector<core::Event> events = parse_events("[00:05-00:12] a\n[00:20] b", w);
  ASSERT_EQ(events.size(), 2u);
  expect_span(events[0], 125 * kS, 132 * kS, "a");
  expect_span(events[1], 140 * kS, 150 * kS, "b");
}

TEST(ParseEvents, MajorityDecidesAMixedAnswer) {
  const WindowSpan w{.id = 3, .start_ns = 120 * kS, .end_ns = 150 * kS};
  // Relative: 5, 12, 25 fit (125, 132, 145), 40 does not (160). Absolute: none fit.
  std::vector<core::Event> events = parse_events("[00:05-00:12] a\n[00:25-00:40] b", w);
  ASSERT_EQ(events.size(), 2u);
  expect_span(events[0], 125 * kS, 132 * kS, "a");
  expect_span(events[1], 145 * kS, 150 * kS, "b");
  // Absolute: 145 fits, 160 not. Relative: 265 and 280 do not. Absolute, clamped.
  events = parse_events("[02:25-02:40] c", w);
  ASSERT_EQ(events.size(), 1u);
  expect_span(events[0], 145 * kS, 150 * kS, "c");
}

TEST(ParseEvents, BothReadingsFitMeansAbsolute) {
  const WindowSpan w{.id = 3, .start_ns = 20 * kS, .end_ns = 50 * kS};
  expect_span(one_event("[00:25-00:30] x", w), 25 * kS, 30 * kS, "x");
}

TEST(ParseEvents, SlackKeepsNearTimesAbsoluteThenClamps) {
  const WindowSpan w{.id = 3, .start_ns = 120 * kS, .end_ns = 150 * kS};
  // 119.5 s is within the 1 s slack: absolute, and clamped to the window start.
  expect_span(one_event("[01:59.5-02:05] x", w), 120 * kS, 125 * kS, "x");
  // With no slack it fits neither reading; 125 s still fits absolute: 1 to 0, absolute.
  const std::vector<core::Event> events =
      parse_events("[01:59.5-02:05] x", w, ParseOptions{.slack_ns = 0});
  ASSERT_EQ(events.size(), 1u);
  expect_span(events[0], 120 * kS, 125 * kS, "x");
}

TEST(ParseEvents, EventOutsideTheWindowIsClampedAndKept) {
  const WindowSpan w{.id = 3, .start_ns = 120 * kS, .end_ns = 150 * kS};
  expect_span(one_event("[10:00-10:05] far later", w), 150 * kS, 150 * kS, "far later");
  expect_span(one_event("[1:00:00-1:00:05] still later", w), 150 * kS, 150 * kS, "still later");
}

TEST(ParseEvents, ReversedRangeIsSwapped) {
  expect_span(one_event("[00:12-00:05] backwards"), 5 * kS, 12 * kS, "backwards");
}

TEST(ParseEvents, WindowEndingBeforeItStartsIsEmpty) {
  const WindowSpan w{.id = 4, .start_ns = 30 * kS, .end_ns = 10 * kS};
  const std::vector<core::Event> events = parse_events("[00:35-00:40] x", w);
  ASSERT_EQ(events.size(), 1u);
  expect_span(events[0], 30 * kS, 30 * kS, "x");
  EXPECT_EQ(events[0].window_id, 4);
}

// ---- fallback ----

TEST(ParseEvents, UntimedAnswerIsOneEventSpanningTheWindow) {
  const WindowSpan w{.id = 9, .start_ns = 10 * kS, .end_ns = 40 * kS};
  const std::vector<core::Event> events =
      parse_events("  The man enters the kitchen.\n\n  He   cooks.  \n", w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].timed);
  EXPECT_EQ(events[0].window_id, 9);
  expect_span(events[0], 10 * kS, 40 * kS, "The man enters the kitchen. He cooks.");
}

TEST(ParseEvents, TimesWithoutTextFallBack) {
  const std::vector<core::Event> events = parse_events("[00:05-00:12]\n[00:20]", kMinute);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].timed);
  expect_span(events[0], 0, 60 * kS, "[00:05-00:12] [00:20]");
}

TEST(ParseEvents, BlankAnswerGivesNoEvents) {
  EXPECT_TRUE(parse_events("", kMinute).empty());
  EXPECT_TRUE(parse_events(" \n\t \r\n\v\f", kMinute).empty());
}

// ---- hostile input ----

TEST(ParseEvents, ImpossibleTimesFallBack) {
  for (std::string_view answer :
       {"[99:99] x", "[-1:00] x", "[99999999999999999:00] x", "[1:99:00] x", "[00:5] x",
        "[000:005] x", "10:30am meeting", "[1:02:03:04] x", "[5-12] bare numbers",
        "[99999999999:00:00] x", "[18446744073709551616s] x", "[2562047:47:16.854775808] x",
        "[12.5ms] x", "[", "]", "[[[[", ":::::", "-", "1."}) {
    const std::vector<core::Event> events = parse_events(answer, kMinute);
    expect_invariants(events, kMinute, answer);
    ASSERT_EQ(events.size(), 1u) << answer;
    EXPECT_FALSE(events[0].timed) << answer;
    expect_span(events[0], 0, 60 * kS, answer);
  }
}

TEST(ParseEvents, LargestTimeDoesNotOverflowWhenRebased) {
  // INT64_MAX ns exactly; adding the window start would overflow.
  const WindowSpan w{.id = 5, .start_ns = 100 * kS, .end_ns = 130 * kS};
  expect_span(one_event("[2562047:47:16.854775807] x", w), 130 * kS, 130 * kS, "x");
  const WindowSpan extreme{.id = 6, .start_ns = INT64_MAX - 10 * kS, .end_ns = INT64_MAX};
  expect_span(one_event("[00:01-00:02] x", extreme), INT64_MAX - 9 * kS, INT64_MAX - 8 * kS, "x");
  const WindowSpan negative{.id = 6, .start_ns = INT64_MIN, .end_ns = INT64_MIN + 5 * kS};
  expect_span(one_event("[00:01-00:02] x", negative), INT64_MIN + 1 * kS, INT64_MIN + 2 * kS, "x");
}

TEST(ParseEvents, RandomBytesNeverBreakTheInvariants) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> length(0, 400);
  std::uniform_int_distribution<int> byte(0, 255);
  // Half the strings are drawn from characters the parser cares about, to reach deeper.
  const std::string interesting = "0123456789:.-[]()*_ \n\r\tst~>#\xE2\x80\x93";
  std::uniform_int_distribution<std::size_t> pick(0, interesting.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    std::string answer(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : answer) {
      c = (i % 2 == 0) ? static_cast<char>(byte(rng)) : interesting[pick(rng)];
    }
    const WindowSpan w{.id = i, .start_ns = (i % 5) * 30 * kS, .end_ns = (i % 5 + 1) * 30 * kS};
    expect_invariants(parse_events(answer, w), w, answer);
  }
}

TEST(ParseEvents, VeryLongLines) {
  std::string repeated;
  for (int i = 0; i < 200'000; ++i) repeated += "00:05";
  std::vector<core::Event> events = parse_events(repeated, kMinute);
  expect_invariants(events, kMinute, repeated);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].timed);

  const std::string long_text = "[00:05-00:12] " + std::string(1'000'000, 'a');
  events = parse_events(long_text, kMinute);
  ASSERT_EQ(events.size(), 1u);
  expect_span(events[0], 5 * kS, 12 * kS, std::string(1'000'000, 'a'));

  const std::string digits = "[" + std::string(100'000, '9') + "] x";
  events = parse_events(digits, kMinute);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].timed);
}

// ---- merging ----

core::Event make_event(std::int64_t start_s, std::int64_t end_s, std::string text,
                       std::int64_t window_id = 0) {
  return core::Event{.start_ns = start_s * kS,
                     .end_ns = end_s * kS,
                     .text = std::move(text),
                     .window_id = window_id};
}

TEST(TextSimilarity, WordSetJaccard) {
  EXPECT_DOUBLE_EQ(text_similarity("A man enters the kitchen.", "a MAN enters, the kitchen!"), 1);
  // {a, man, walks, into, the, kitchen} vs {a, man, enters, the, kitchen}: 4 / 7.
  EXPECT_DOUBLE_EQ(text_similarity("A man walks into the kitchen", "A man enters the kitchen"),
                   4.0 / 7.0);
  EXPECT_DOUBLE_EQ(text_similarity("a b c", "a b c d e"), 0.6);
  EXPECT_DOUBLE_EQ(text_similarity("dog", "cat"), 0);
  EXPECT_DOUBLE_EQ(text_similarity("...", "..."), 1);
  EXPECT_DOUBLE_EQ(text_similarity("...", "!!!"), 0);
  EXPECT_DOUBLE_EQ(text_similarity("", "x"), 0);
  EXPECT_DOUBLE_EQ(text_similarity("Caf\xC3\xA9 open", "caf\xC3\xA9 OPEN"), 1);
}

TEST(EventMerger, DuplicateAcrossTheOverlapIsDropped) {
  EventMerger merger;
  std::vector<core::Event> kept = merger.add(
      {make_event(5, 12, "A man enters the kitchen.", 0), make_event(20, 25, "He sits.")});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].text, "A man enters the kitchen.");
  kept = merger.add(
      {make_event(6, 12, "a man enters the kitchen", 1), make_event(26, 30, "He stands up.", 1)});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].text, "He stands up.");
  EXPECT_EQ(kept[0].window_id, 1);
}

TEST(EventMerger, SameTextFarApartIsKept) {
  EventMerger merger;
  ASSERT_EQ(merger.add({make_event(5, 12, "A door opens.")}).size(), 1u);
  ASSERT_EQ(merger.add({make_event(100, 105, "A door opens.")}).size(), 1u);
}

TEST(EventMerger, TimeSlackDecidesNearMisses) {
  EventMerger merger;  // slack 2 s
  ASSERT_EQ(merger.add({make_event(5, 10, "A door opens.")}).size(), 1u);
  EXPECT_EQ(merger.add({make_event(12, 14, "A door opens.")}).size(), 0u);  // 2 s after 10
  EXPECT_EQ(merger.add({make_event(13, 15, "A door opens.")}).size(), 1u);  // 3 s after 10
}

TEST(EventMerger, DifferentTextAtTheSameTimeIsKept) {
  EventMerger merger;
  ASSERT_EQ(merger.add({make_event(5, 12, "A man enters the kitchen.")}).size(), 1u);
  EXPECT_EQ(merger.add({make_event(5, 12, "A man walks into the kitchen.")}).size(), 1u);
  EXPECT_EQ(merger.add({make_event(5, 12, "The cat sleeps.")}).size(), 1u);
}

TEST(EventMerger, EventsOfOneWindowAreNotMergedWithEachOther) {
  EventMerger merger;
  EXPECT_EQ(merger.add({make_event(5, 6, "He waves."), make_event(6, 7, "He waves.")}).size(), 2u);
}

TEST(EventMerger, ThresholdIsInclusive) {
  EventMerger merger(MergeOptions{.min_similarity = 0.6});
  ASSERT_EQ(merger.add({make_event(0, 5, "a b c d e")}).size(), 1u);
  EXPECT_EQ(merger.add({make_event(0, 5, "a b c")}).size(), 0u);      // 3 / 5 = 0.6
  EXPECT_EQ(merger.add({make_event(0, 5, "a b f g h")}).size(), 1u);  // 2 / 8
}

TEST(EventMerger, HorizonBoundsMemory) {
  EventMerger merger(MergeOptions{.horizon_ns = 60 * kS});
  ASSERT_EQ(merger.add({make_event(0, 10, "A door opens."), make_event(30, 50, "Rain.")}).size(),
            2u);
  EXPECT_EQ(merger.remembered(), 2u);
  // Latest end 100 s: the event ending at 10 s is forgotten, the one at 50 s is not.
  ASSERT_EQ(merger.add({make_event(90, 100, "A car passes.")}).size(), 1u);
  EXPECT_EQ(merger.remembered(), 2u);
  // A forgotten event no longer suppresses its repeat.
  EXPECT_EQ(merger.add({make_event(5, 10, "A door opens.")}).size(), 1u);
  EXPECT_EQ(merger.add({make_event(45, 50, "Rain.")}).size(), 0u);
}

TEST(EventMerger, MaxKeptBoundsMemory) {
  EventMerger merger(MergeOptions{.max_kept = 3});
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(merger.add({make_event(i, i + 1, "event " + std::to_string(i * 1000))}).size(), 1u);
  }
  EXPECT_EQ(merger.remembered(), 3u);
}

TEST(EventMerger, OverHoursMemoryStaysBounded) {
  EventMerger merger;              // horizon 10 min
  for (int w = 0; w < 720; ++w) {  // 6 hours of 30 s windows
    std::vector<core::Event> events;
    for (int k = 0; k < 5; ++k) {
      // {event, number, N}: 2 / 4 similar to any other, below the threshold.
      events.push_back(make_event(w * 30 + k * 6, w * 30 + k * 6 + 5,
                                  "event number " + std::to_string(w * 5 + k), w));
    }
    ASSERT_EQ(merger.add(std::move(events)).size(), 5u);
  }
  // Latest end 21599 s, cutoff 20999 s: windows 700..719 (100 events) and the last event of
  // window 699 (ends 20999 s).
  EXPECT_EQ(merger.remembered(), 101u);
}

TEST(EventMerger, ParsedOverlappingWindowsEndToEnd) {
  EventMerger merger;
  const WindowSpan w0{.id = 0, .start_ns = 0, .end_ns = 30 * kS};
  const WindowSpan w1{.id = 1, .start_ns = 20 * kS, .end_ns = 50 * kS};
  std::vector<core::Event> kept = merger.add(
      parse_events("[00:02-00:08] A man enters.\n[00:22-00:28] He opens the fridge.", w0));
  ASSERT_EQ(kept.size(), 2u);
  kept = merger.add(
      parse_events("[00:21-00:28] He opens the fridge\n[00:35-00:45] He drinks milk.", w1));
  ASSERT_EQ(kept.size(), 1u);
  expect_span(kept[0], 35 * kS, 45 * kS, "He drinks milk.");
  EXPECT_EQ(kept[0].window_id, 1);
}

}  // namespace
}  // namespace framescribe::pipeline
