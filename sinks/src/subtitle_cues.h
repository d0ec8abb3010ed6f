// Cues for the subtitle formats (SRT, WebVTT): events sorted, given a display duration and
// cleaned into lines a subtitle parser accepts. SubtitleSink buffers the events and writes
// the cues at finish; srt_sink.cpp and vtt_sink.cpp only format them.
//
//   std::vector<Cue> cues = make_cues(events);   // sorted, start_ms < end_ms, no blank lines
//   cue.lines;                                   // never empty, none containing "-->"
//
// Pure functions; a SubtitleSink is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "file_sink.h"

namespace framescribe::sinks {

// An event with end <= start is shown this long, or until the next later-starting cue.
inline constexpr std::int64_t kMinCueDurationNs = 1'000'000'000;

struct Cue {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;  // > start_ms
  std::vector<std::string> lines;
};

// Sorted by start (ties keep arrival order); times rounded to milliseconds, negative times
// clamped to 0; events whose text has no visible line are left out.
std::vector<Cue> make_cues(std::vector<core::Event> events);

// "HH:MM:SS<sep>mmm" (hours grow past two digits when needed).
std::string cue_time(std::int64_t ms, char separator);

class SubtitleSink : public FileSink {
 public:
  using FileSink::FileSink;

 protected:
  // The whole file for these cues.
  virtual std::string render(const std::vector<Cue>& cues) const = 0;

  void start(AtomicFile&, const core::RunInfo&) override { events_.clear(); }
  void window(AtomicFile&, const core::WindowResult& window) override {
    events_.insert(events_.end(), window.events.begin(), window.events.end());
  }
  void end(AtomicFile& file, const core::RunEnd&) override {
    file.write(render(make_cues(std::move(events_))));
  }
  void clear() noexcept override { events_.clear(); }

 private:
  std::vector<core::Event> events_;
};

}  // namespace framescribe::sinks
