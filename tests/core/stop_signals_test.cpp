// core/stop_signals.h: SIGINT/SIGTERM raise the flag while alive, default handlers after.
#include "framescribe/core/stop_signals.h"

#include <csignal>

#include <gtest/gtest.h>

namespace framescribe::core {
namespace {

// The handler now installed for `sig`, without changing it.
void (*current_handler(int sig))(int) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}

TEST(ScopedStopSignals, SignalsRaiseTheFlagOneLevelEach) {
  StopFlag stop;
  {
    ScopedStopSignals signals(stop);
    EXPECT_NE(current_handler(SIGINT), SIG_DFL);
    EXPECT_NE(current_handler(SIGTERM), SIG_DFL);
    EXPECT_EQ(stop.level(), StopFlag::kRunning);
    ASSERT_EQ(std::raise(SIGINT), 0);
    EXPECT_EQ(stop.level(), StopFlag::kFinishWindow);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_EQ(stop.level(), StopFlag::kAbandon);
    ASSERT_EQ(std::raise(SIGINT), 0);  // capped
    EXPECT_EQ(stop.level(), StopFlag::kAbandon);
  }
  EXPECT_EQ(current_handler(SIGINT), SIG_DFL);
  EXPECT_EQ(current_handler(SIGTERM), SIG_DFL);
}

TEST(ScopedStopSignals, ALaterScopeRaisesOnlyItsOwnFlag) {
  StopFlag first, second;
  { ScopedStopSignals signals(first); }
  ScopedStopSignals signals(second);
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(first.level(), StopFlag::kRunning);
  EXPECT_EQ(second.level(), StopFlag::kFinishWindow);
}

}  // namespace
}  // namespace framescribe::core
