// sinks/progress_text.h: frames' and probe's media text, the plain-output interval from the
// environment, a finished item's line with the status on a terminal and in a log.
#include "framescribe/sinks/progress_text.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace framescribe::sinks {
namespace {

// What print_line_with_status writes through an enabled or disabled ProgressLine, on a terminal
// or not.
std::string written(bool enabled, bool tty) {
  char* buf = nullptr;
  std::size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  EXPECT_NE(f, nullptr);
  {
    ProgressLine line(enabled, f, tty, 10.0, 0.0);
    print_line_with_status(line, "a.mp4: done", "videos 1/2 done");
  }
  std::fclose(f);
  std::string out(buf, size);
  std::free(buf);
  return out;
}

TEST(MediaProgressText, WithAndWithoutAKnownTotal) {
  EXPECT_EQ(media_progress_text("frames", 5, 10, 5), "frames: 5.0 / 10.0 s (50%), 5 frames");
  EXPECT_EQ(media_progress_text("probe", 12.5, 10, 9), "probe: 12.5 / 10.0 s (100%), 9 frames");
  EXPECT_EQ(media_progress_text("probe", 3.25, 0, 2), "probe: 3.2 s, 2 frames");
}

TEST(ProgressInterval, ReadsTheEnvironmentAndFallsBackToTenSeconds) {
  ::unsetenv("FRAMESCRIBE_PROGRESS_INTERVAL");
  EXPECT_EQ(progress_interval_s(), 10.0);
  ::setenv("FRAMESCRIBE_PROGRESS_INTERVAL", "2.5", 1);
  EXPECT_EQ(progress_interval_s(), 2.5);
  ::setenv("FRAMESCRIBE_PROGRESS_INTERVAL", "0", 1);
  EXPECT_EQ(progress_interval_s(), 0.0);
  for (const char* bad : {"", "-1", "abc", "5s", "inf", "nan"}) {
    ::setenv("FRAMESCRIBE_PROGRESS_INTERVAL", bad, 1);
    EXPECT_EQ(progress_interval_s(), 10.0) << "'" << bad << "'";
  }
  ::unsetenv("FRAMESCRIBE_PROGRESS_INTERVAL");
}

TEST(PrintLineWithStatus, ALogGetsOneLineATerminalTheStatusRedrawn) {
  EXPECT_EQ(written(true, false), "a.mp4: done | videos 1/2 done\n");
  // The line, then the status drawn in place (cleared again by the destructor).
  EXPECT_EQ(written(true, true), "a.mp4: done\n\r\033[Kvideos 1/2 done\r\033[K");
  EXPECT_EQ(written(false, true), "");  // disabled (--quiet): nothing
  EXPECT_EQ(written(false, false), "");
}

}  // namespace
}  // namespace framescribe::sinks
