// What the two reports (Markdown and HTML) say about a run, worded once so they agree.
//
//   for (const RunFact& f : run_facts(run, end, n_events)) out << f.label << ": " << f.value;
//   std::string note = status_note(end, covered_until_ns);  // empty for a complete run
//
// Pure functions on plain values; thread-safe. The strings are plain text (escape them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framescribe/core/event.h"

namespace framescribe::sinks {

struct RunFact {
  std::string label;  // "Duration", "Model", ...
  std::string value;  // plain text
};

// Duration, Size, Model, Sampling, Started, Status, Windows, Frames, Events, Time; facts whose
// value is unknown (empty string, no duration) are left out.
std::vector<RunFact> run_facts(const core::RunInfo& run, const core::RunEnd& end,
                               std::size_t n_events);

// For a stopped or failed run, one sentence saying so (with the error) and how far the report
// goes (`covered_until_ns`: end of the last window, core::kNoTimestamp if there was none).
// Empty for a complete run.
std::string status_note(const core::RunEnd& end, std::int64_t covered_until_ns);

}  // namespace framescribe::sinks
