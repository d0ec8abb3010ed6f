// The smaller pieces of the progress lines of frames, probe and batch (sinks::ProgressLine):
// the media position text, the plain-output interval from the environment, and a finished item's
// line with the status beside it.
//
//   sinks::ProgressLine line(true, stderr, std::nullopt, sinks::progress_interval_s(), 0);
//   line.update([&] { return sinks::media_progress_text("probe", 5, 10, 5); });
//   sinks::print_line_with_status(line, "a.mp4: done", "videos 1/2 done ...");
//
// Pure functions but progress_interval_s (reads the environment) and print_line_with_status
// (writes through the ProgressLine, thread-safe as it is). No errors.
#pragma once

#include <string>

#include "framescribe/sinks/progress_line.h"

namespace framescribe::sinks {

// "frames: 5.0 / 10.0 s (50%), 5 frames"; without a known total (total_s <= 0):
// "frames: 5.0 s, 5 frames".
std::string media_progress_text(const std::string& what, double at_s, double total_s,
                                long long sampled);

// Seconds between two plain (not a terminal) progress lines: $FRAMESCRIBE_PROGRESS_INTERVAL when
// it is a finite number >= 0, else 10.
double progress_interval_s();

// `text` as a line of its own above the status line. On a terminal the status line `status` is
// drawn again at once below it; elsewhere the line carries it: "text | status".
void print_line_with_status(ProgressLine& line, const std::string& text, const std::string& status);

}  // namespace framescribe::sinks
