// What the commands that run the pipeline share: Ctrl-C handling and the facts of a run.
//
//   core::StopFlag stop;
//   ScopedStopSignals signals(stop);   // SIGINT/SIGTERM raise `stop` until `signals` is gone
//   core::RunInfo info = file_run_info(name, source, model_display_name(model_dir));
//
// One ScopedStopSignals at a time (the handler reaches the flag through one global pointer,
// cleared with the default handlers restored by the destructor). Not thread-safe to construct.
#pragma once

#include <string>

#include "file_frame_source.h"
#include "framescribe/core/event.h"
#include "framescribe/core/stop.h"

namespace framescribe::apps {

// SIGINT and SIGTERM call stop.request() while alive: the first asks to finish the window in
// progress, a second to abandon it. The destructor restores the default handlers.
class ScopedStopSignals {
 public:
  explicit ScopedStopSignals(core::StopFlag& stop);
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;
};

// The run facts of a video file or URL for the sinks' headers (summarize and batch): its shown
// name, duration, size as displayed, sampling and the model's name (started_at is left to the
// caller: summarize sets it, batch reports leave it out).
core::RunInfo file_run_info(const std::string& name, const FileFrameSource& source,
                            const std::string& model_name);

}  // namespace framescribe::apps
