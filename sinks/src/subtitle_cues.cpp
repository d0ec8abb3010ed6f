#include "subtitle_cues.h"

#include <algorithm>
#include <cstdio>

#include "text.h"

namespace framescribe::sinks {
namespace {

std::int64_t to_ms(std::int64_t ns) {
  return ns <= 0 ? 0 : (ns + 500'000) / 1'000'000;
}

}  // namespace

std::vector<Cue> make_cues(std::vector<core::Event> events) {
  sort_by_start(events);
  std::vector<Cue> cues;
  cues.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const core::Event& e = events[i];
    Cue cue;
    for (const std::string& line : text_lines(e.text)) {
      // "-->" separates the times of a cue; in the text it would start a bogus cue.
      cue.lines.push_back(replace_all_repeated(line, "-->", "->"));
    }
    if (cue.lines.empty()) continue;
    std::int64_t end_ns = e.end_ns;
    if (end_ns <= e.start_ns) {
      end_ns = e.start_ns + kMinCueDurationNs;
      // Sorted, so the first later start after i is the nearest one.
      for (std::size_t j = i + 1; j < events.size(); ++j) {
        if (events[j].start_ns > e.start_ns) {
          end_ns = std::min(end_ns, events[j].start_ns);
          break;
        }
      }
    }
    cue.start_ms = to_ms(e.start_ns);
    cue.end_ms = std::max(to_ms(end_ns), cue.start_ms + 1);
    cues.push_back(std::move(cue));
  }
  return cues;
}

std::string cue_time(std::int64_t ms, char separator) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld",
                static_cast<long long>(ms / 3'600'000), static_cast<long long>(ms / 60'000 % 60),
                static_cast<long long>(ms / 1000 % 60), separator,
                static_cast<long long>(ms % 1000));
  return buf;
}

}  // namespace framescribe::sinks
