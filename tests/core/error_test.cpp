#include <gtest/gtest.h>

#include <set>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

using framescribe::Error;
using framescribe::ErrorCode;

TEST(Error, CheckThrowsWithCodeAndStreamedMessage) {
  const int n = 3;
  try {
    FS_CHECK(n > 5, kMalformedModel, "file.json: n must exceed 5, got " << n);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMalformedModel);
    EXPECT_STREQ(e.what(), "file.json: n must exceed 5, got 3");
  }
  EXPECT_NO_THROW(FS_CHECK(n == 3, kInternal, "unused"));
}

TEST(Error, CheckEvaluatesTheMessageOnlyOnFailure) {
  int evaluated = 0;
  auto side_effect = [&] { return ++evaluated; };
  FS_CHECK(true, kInternal, side_effect());
  EXPECT_EQ(evaluated, 0);
}

TEST(Error, EveryCodeHasADistinctName) {
  std::set<std::string> names;
  for (ErrorCode c : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kMalformedModel,
                      ErrorCode::kUnsupported, ErrorCode::kIo, ErrorCode::kOutOfMemory,
                      ErrorCode::kCancelled, ErrorCode::kInternal}) {
    names.insert(std::string(framescribe::to_string(c)));
  }
  EXPECT_EQ(names.size(), 8u);
}

TEST(ErrorDeathTest, AssertAbortsWithExpressionAndLocation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int rows = 2;
  EXPECT_DEATH(FS_ASSERT(rows > 4), "assertion failed: rows > 4 .*error_test.cpp");
}

TEST(Log, SinkReceivesMessagesAtOrAboveTheLevel) {
  using framescribe::core::LogLevel;
  std::vector<std::pair<LogLevel, std::string>> got;
  framescribe::core::set_log_sink(
      [&](LogLevel l, std::string_view m) { got.emplace_back(l, std::string(m)); });
  framescribe::core::set_log_level(LogLevel::kWarn);
  FS_LOG_INFO("hidden");
  FS_LOG_WARN("shown " << 42);
  framescribe::core::set_log_level(LogLevel::kInfo);
  framescribe::core::set_log_sink({});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, LogLevel::kWarn);
  EXPECT_EQ(got[0].second, "shown 42");
}
