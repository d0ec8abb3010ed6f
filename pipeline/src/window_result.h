// Finishing a window, the one step shared by the video pipeline (video_pipeline.cpp) and the
// live job (live/live_job.cpp): the engine's answer becomes a core::WindowResult, then its events.
//
//   core::WindowResult r = window_result(plan, std::move(answer), measured_ms);  // any order
//   add_events(r, merger);                         // in window order: merges against earlier
//   for (sink : sinks) sink->on_window(r);
//
// Rule: WindowResult::answer is the model's answer made safe (core::sanitize_text), and the
// events are parsed from that same text. Both callers keep the raw text where they need it
// (the video pipeline carries it into the next window's prompt unchanged).
// Pure functions; the merger is the caller's (one per run, not thread-safe).
#pragma once

#include "framescribe/core/event.h"
#include "framescribe/pipeline/events.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pipeline {

// The window as the sinks see it: span, frames (shared pixels, no copy), token counts, the
// sanitised answer, the engine's time (`measured_ms` when the engine reported none). No events.
core::WindowResult window_result(const WindowPlan& plan, const WindowAnswer& answer,
                                 double measured_ms);

// Parses the answer's events (rebased and clamped to the window) and merges them with the
// events of earlier windows (merger.add): call in window order.
void add_events(core::WindowResult& result, EventMerger& merger);

}  // namespace framescribe::pipeline
