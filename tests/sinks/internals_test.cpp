// The sinks' private pieces: cue timing rules, text helpers, the base64 encoder.
#include <gtest/gtest.h>

#include <random>

#include "base64_encode.h"  // sinks/src
#include "framescribe/core/base64.h"
#include "subtitle_cues.h"  // sinks/src
#include "text.h"           // sinks/src

namespace framescribe::sinks {
namespace {

constexpr std::int64_t kMs = 1'000'000;

core::Event ev(std::int64_t start_ms, std::int64_t end_ms, std::string text) {
  return core::Event{start_ms * kMs, end_ms * kMs, std::move(text), 0, true};
}

TEST(Cues, InstantLastsOneSecondOrUntilTheNextLaterCue) {
  const std::vector<Cue> cues = make_cues(
      {ev(5000, 5000, "a"), ev(5000, 7000, "b"), ev(5300, 6000, "c"), ev(9000, 9000, "d")});
  ASSERT_EQ(cues.size(), 4u);
  EXPECT_EQ(cues[0].start_ms, 5000);
  EXPECT_EQ(cues[0].end_ms, 5300);  // the next later start, not the tie at 5000
  EXPECT_EQ(cues[1].end_ms, 7000);
  EXPECT_EQ(cues[3].start_ms, 9000);
  EXPECT_EQ(cues[3].end_ms, 10000);  // the last one: 1 s
}

TEST(Cues, SortedStableRoundedAndClamped) {
  std::vector<core::Event> events = {ev(3000, 4000, "late"), ev(1000, 2000, "first"),
                                     ev(1000, 1500, "second")};
  events.push_back(core::Event{-5 * kMs, 400'400'000, "negative start", 0, true});
  events.push_back(core::Event{1'234'499, 1'234'500, "rounding", 0, true});
  const std::vector<Cue> cues = make_cues(events);
  ASSERT_EQ(cues.size(), 5u);
  EXPECT_EQ(cues[0].lines, std::vector<std::string>{"negative start"});
  EXPECT_EQ(cues[0].start_ms, 0);
  EXPECT_EQ(cues[0].end_ms, 400);
  EXPECT_EQ(cues[1].lines, std::vector<std::string>{"rounding"});
  EXPECT_EQ(cues[1].start_ms, 1);  // 1.234499 ms -> 1 ms
  EXPECT_EQ(cues[1].end_ms, 2);    // 1.2345 ms -> 1 ms, then pushed past the start
  EXPECT_EQ(cues[2].lines, std::vector<std::string>{"first"});
  EXPECT_EQ(cues[3].lines, std::vector<std::string>{"second"});  // a tie keeps arrival order
  EXPECT_EQ(cues[4].lines, std::vector<std::string>{"late"});
}

TEST(Cues, TextWithoutVisibleLinesIsDroppedAndArrowsBroken) {
  const std::vector<Cue> cues =
      make_cues({ev(0, 1000, " \n\t\r\n"), ev(0, 1000, "a-->b\r\n\r\n  c ---> d\n")});
  ASSERT_EQ(cues.size(), 1u);
  EXPECT_EQ(cues[0].lines, (std::vector<std::string>{"a->b", "c -> d"}));
}

TEST(Cues, TimeFormats) {
  EXPECT_EQ(cue_time(0, ','), "00:00:00,000");
  EXPECT_EQ(cue_time(3'723'004, '.'), "01:02:03.004");
  EXPECT_EQ(cue_time(360'000'000 + 1, ','), "100:00:00,001");
}

TEST(Text, HelpersOnEdgeCases) {
  EXPECT_EQ(html_escape("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(text_lines(""), std::vector<std::string>{});
  EXPECT_EQ(text_lines("one"), std::vector<std::string>{"one"});
  EXPECT_EQ(text_lines("\n one \r\n\n\ttwo\t\n"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(replace_all_repeated("---->>", "-->", "->"), "->>");
  EXPECT_EQ(replace_all_repeated("no arrows", "-->", "->"), "no arrows");
  EXPECT_EQ(seconds_fixed(12'345'600'000), "12.346");
  EXPECT_EQ(seconds(2'500'000'000), 2.5);
}

TEST(Base64, Rfc4648Vectors) {
  const auto enc = [](std::string_view s) {
    return encode_base64(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
}

TEST(Base64, RoundTripsThroughCoreDecoder) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 70; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    EXPECT_EQ(core::decode_base64(encode_base64(bytes), "round trip"), bytes) << n;
  }
}

}  // namespace
}  // namespace framescribe::sinks
