// The one status line of a long command (summarize, batch, frames, probe) on a terminal or a
// log: where a run is, redrawn in place, with log messages never landing inside it.
//
//   sinks::ProgressLine line(/*enabled=*/!quiet);
//   line.update([&] { return "clip.mp4: 00:05.0 / 00:10.0 (50%)"; });   // built only when due
//   line.print_line("clip.mp4: done");        // a whole line above the status line
//   line.clear();                             // before other output; the destructor clears too
//
// Owns the log sink while alive on a terminal (see the class). Thread-safe: show() and log
// messages may come from different threads. No errors: writes to the FILE* are best effort.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "framescribe/core/text_match.h"

namespace framescribe::sinks {

// "1.2 s", "3 min 05 s", "1 h 02 min": core/text_match.h.
using core::format_duration;

// The one status line of a long command (summarize, batch, frames). On a terminal it is redrawn
// in place at most twice a second, and while it is alive every log message (a warning from the
// decoder or the pipeline) first clears it, so no message lands in the middle of it; the next
// show() draws it again. Elsewhere (a file, a pipe) it prints a whole line every
// `plain_interval_s` (10 s), so a log shows the run is alive. Nothing in the first
// `quiet_s` (short runs stay quiet). One ProgressLine at a time: it owns the log sink (restored to
// the default stderr sink by the destructor). show() and the log may be called from different
// threads.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled, std::FILE* out = stderr, std::optional<bool> tty = {},
                        double plain_interval_s = 10.0, double quiet_s = 0.5);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Whether show() would draw now (the text is built only then).
  bool due() const;
  // show(text()) when due: `text` is called only then.
  template <typename TextFn>
  void update(TextFn&& text) {
    if (due()) show(text());
  }
  // Draws `text` when due or when `force`; a terminal's line is replaced in place.
  void show(const std::string& text, bool force = false);
  // A whole line above the status line (a video finished): the status line is cleared first.
  void print_line(const std::string& text);
  // Clears a drawn terminal line (before other output, and at the end).
  void clear();
  bool tty() const;

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace framescribe::sinks
