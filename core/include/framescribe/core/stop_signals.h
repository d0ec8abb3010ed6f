// Ctrl-C for a command that runs the pipeline: SIGINT and SIGTERM raise a StopFlag while a
// ScopedStopSignals is alive.
//
//   core::StopFlag stop;
//   core::ScopedStopSignals signals(stop);  // first signal: finish the window; second: abandon it
//   run(..., stop);
//   // the destructor restores the default handlers
//
// Rules: one ScopedStopSignals at a time (the handler reaches the flag through one global
// pointer, cleared by the destructor); the flag must outlive it. Constructing and destroying
// are not thread-safe; the handler itself is async-signal-safe (StopFlag::request). No errors.
#pragma once

#include "framescribe/core/stop.h"

namespace framescribe::core {

// SIGINT and SIGTERM call stop.request() while alive: the first asks to finish the window in
// progress, a second to abandon it. The destructor restores the default handlers.
class ScopedStopSignals {
 public:
  explicit ScopedStopSignals(StopFlag& stop);
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;
};

}  // namespace framescribe::core
