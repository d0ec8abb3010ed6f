// sinks/progress_text.h: frames' and probe's media text, the plain-output interval from the
// environment, a finished item's line with the status on a terminal and in a log.
#include "framescribe/sinks/progress_text.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

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
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    ProgressLine line(true, log, /*tty=*/false, 10.0, 0.0);
    print_line_with_status(line, "a.mp4: done", "videos 1/2 done");
  }
  EXPECT_EQ(contents(log), "a.mp4: done | videos 1/2 done\n");
  std::fclose(log);

  std::FILE* tty = std::tmpfile();
  ASSERT_NE(tty, nullptr);
  {
    ProgressLine line(true, tty, /*tty=*/true, 10.0, 0.0);
    print_line_with_status(line, "a.mp4: done", "videos 1/2 done");
  }
  // The line, then the status drawn in place (cleared again by the destructor).
  EXPECT_EQ(contents(tty), "a.mp4: done\n\r\033[Kvideos 1/2 done\r\033[K");
  std::fclose(tty);

  std::FILE* off = std::tmpfile();
  ASSERT_NE(off, nullptr);
  {
    ProgressLine line(false, off, /*tty=*/true, 10.0, 0.0);
    print_line_with_status(line, "a.mp4: done", "videos 1/2 done");
  }
  EXPECT_EQ(contents(off), "");  // disabled (--quiet): nothing
  std::fclose(off);
}

}  // namespace
}  // namespace framescribe::sinks
