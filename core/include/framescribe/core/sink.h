// The interface between the pipeline and every output format (sinks/ implements it; the
// pipeline calls it; apps/ picks which ones).
//
//   std::unique_ptr<core::EventSink> sink = sinks::make_srt_sink("out/talk.srt");
//   sink->begin(run);
//   sink->on_window(w);            // for each window, in order
//   sink->finish(end);             // the file appears, complete, only now
//
// Contract:
// - Calls come from one thread at a time, in the order begin, on_window..., finish (or abort).
// - A file sink writes to a temporary file beside its target and renames it over the target in
//   finish(), so a reader (or a killed process) sees either the previous complete file or the
//   new complete one, never a partial one.
// - abort() drops what finish() would have written (the temporary file is removed) and must
//   not throw. The destructor of a sink that was begun but neither finished nor aborted aborts.
// - Errors (cannot create or write a file) throw framescribe::Error(kIo) naming the path.
#pragma once

#include <string_view>

#include "framescribe/core/event.h"

namespace framescribe::core {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual std::string_view name() const = 0;  // "srt", "jsonl", ...
  virtual void begin(const RunInfo& run) = 0;
  virtual void on_window(const WindowResult& window) = 0;
  virtual void finish(const RunEnd& end) = 0;
  virtual void abort() noexcept = 0;
};

}  // namespace framescribe::core
