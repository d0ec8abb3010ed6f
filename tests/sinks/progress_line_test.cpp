// The one progress line of summarize, batch and frames (framescribe/sinks/progress_line.h):
// on a terminal a log message (a decoder warning mid-run) first clears the line, so it never
// lands in the middle of it; elsewhere a whole line is printed every interval.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "framescribe/core/log.h"
#include "framescribe/sinks/progress_line.h"

namespace framescribe::sinks {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(ProgressLine, ALogMessageOnATerminalStartsOnAClearedLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine line(true, f, /*tty=*/true, 10.0, /*quiet_s=*/0);
    line.show("clip.mp4: 00:05.0 / 00:10.0 (50%)", /*force=*/true);
    FS_LOG_WARN("clip.mp4: timestamps jump");
    line.show("clip.mp4: 00:06.0 / 00:10.0 (60%)", /*force=*/true);
  }
  const std::string out = contents(f);
  const std::string clear = "\r\033[K";
  // The warning starts right after a clear of the line, never after the line's text.
  const std::size_t w = out.find("framescribe: warning: clip.mp4: timestamps jump\n");
  ASSERT_NE(w, std::string::npos) << out;
  ASSERT_GE(w, clear.size());
  EXPECT_EQ(out.substr(w - clear.size(), clear.size()), clear) << out;
  EXPECT_EQ(out.rfind("(50%)", w) + 5, w - clear.size()) << out;
  // Redrawn after it, and cleared at the end (the destructor).
  EXPECT_NE(out.find("(60%)", w), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with(clear)) << out;
  std::fclose(f);
  // The default sink is back: a message after the line is gone reaches stderr, not the file.
  testing::internal::CaptureStderr();
  FS_LOG_WARN("after");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "framescribe: warning: after\n");
}

TEST(ProgressLine, ElsewhereALineEveryIntervalNeverInPlace) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  int shown = 0;
  {
    ProgressLine line(true, f, /*tty=*/false, /*plain_interval_s=*/0.05, /*quiet_s=*/0);
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < end) {
      if (line.due()) {
        line.show("at " + std::to_string(shown));
        ++shown;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const std::string out = contents(f);
  std::fclose(f);
  EXPECT_GE(shown, 3);
  EXPECT_LE(shown, 8);  // not at every call: once per interval
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_NE(out.find("at 0\nat 1\n"), std::string::npos) << out;
}

TEST(ProgressLine, DisabledPrintsNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine line(false, f, /*tty=*/true, 10.0, 0);
    EXPECT_FALSE(line.due());
    line.show("x", /*force=*/true);
    line.print_line("y");
  }
  EXPECT_EQ(contents(f), "");
  std::fclose(f);
}

}  // namespace
}  // namespace framescribe::sinks
