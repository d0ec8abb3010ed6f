// core::format_utc: the one formatter of wall-clock times. Expected strings are worked out by
// hand from the epoch (1,764,208,200 s = 2025-11-27 01:50:00 UTC; `date -u -d @1764208200`).
#include <cstdint>

#include <gtest/gtest.h>

#include "framescribe/core/event.h"

namespace framescribe::core {
namespace {

constexpr std::int64_t kS = 1'000'000'000;

TEST(FormatUtc, SecondsMillisecondsAndTheSeparator) {
  const std::int64_t t = 1'764'208'200 * kS + 123'456'789;
  EXPECT_EQ(format_utc(t), "2025-11-27T01:50:00Z");
  EXPECT_EQ(format_utc(t, {.milliseconds = true}), "2025-11-27T01:50:00.123Z");
  EXPECT_EQ(format_utc(t, {.separator = ' '}), "2025-11-27 01:50:00Z");
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(999'999'999, {.milliseconds = true}), "1970-01-01T00:00:00.999Z");
}

TEST(FormatUtc, FloorsSoEarlierTimesNeverPrintLater) {
  // 1 ns before the epoch is in 1969, at .999.
  EXPECT_EQ(format_utc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_utc(-1, {.milliseconds = true}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_utc(-kS, {.milliseconds = true}), "1969-12-31T23:59:59.000Z");
  std::string prev;
  for (std::int64_t ns = -3 * kS / 2; ns <= 3 * kS / 2; ns += kS / 4) {
    const std::string s = format_utc(ns, {.milliseconds = true});
    EXPECT_LT(prev, s) << ns;
    prev = s;
  }
}

TEST(FormatUtc, NowIsTheSameFormat) {
  const std::string now = utc_now_iso8601();
  ASSERT_EQ(now.size(), 20u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace framescribe::core
