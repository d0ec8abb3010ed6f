#include "framescribe/core/stop_signals.h"

#include <csignal>

namespace framescribe::core {
namespace {

StopFlag* g_stop = nullptr;
extern "C" void on_stop_signal(int) {
  if (g_stop != nullptr) g_stop->request();
}

}  // namespace

ScopedStopSignals::ScopedStopSignals(StopFlag& stop) {
  g_stop = &stop;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

ScopedStopSignals::~ScopedStopSignals() {
  g_stop = nullptr;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace framescribe::core
