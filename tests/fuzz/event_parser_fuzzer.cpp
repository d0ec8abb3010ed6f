// libFuzzer target for parse_events and EventMerger. The first bytes choose a window, the rest
// is the model's answer. Every event must lie in its window (start <= ev.start <= ev.end <= end),
// carry non-empty text without whitespace runs and the window's id; a non-blank answer gives at
// least one event, a blank one none. The events then go through an EventMerger twice: the first
// time everything is kept, the second time everything is a duplicate of itself.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target event_parser_fuzzer
//   build/fuzz/tests/fuzz/event_parser_fuzzer CORPUS_COPY
// or tools/fuzz.sh [seconds] event_parser.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include "framescribe/pipeline/events.h"

namespace {

namespace fp = framescribe::pipeline;

constexpr std::size_t kHeaderBytes = 7;

[[noreturn]] void broken_promise(const char* what) {
  std::fprintf(stderr, "event_parser_fuzzer: %s\n", what);
  std::abort();
}

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && (c < '\t' || c > '\r')) return false;
  }
  return true;
}

void check(const std::vector<framescribe::core::Event>& events, const fp::WindowSpan& w,
           std::string_view answer) {
  if (events.empty() != is_blank(answer)) broken_promise("events iff the answer is not blank");
  for (const framescribe::core::Event& e : events) {
    if (e.start_ns < w.start_ns) broken_promise("event starts before its window");
    if (e.end_ns < e.start_ns) broken_promise("event ends before it starts");
    if (e.end_ns > w.end_ns) broken_promise("event ends after its window");
    if (e.text.empty()) broken_promise("empty text");
    if (e.window_id != w.id) broken_promise("wrong window id");
    if (e.text.front() == ' ' || e.text.back() == ' ') broken_promise("text not trimmed");
    if (e.text.find("  ") != std::string_view::npos || e.text.find('\n') != std::string::npos) {
      broken_promise("whitespace not collapsed");
    }
    if (!e.timed && (events.size() != 1 || e.start_ns != w.start_ns || e.end_ns != w.end_ns)) {
      broken_promise("an untimed event is the only one and spans its window");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Window: byte 0 picks the placement, bytes 1-4 the start (ms), bytes 5-6 the length (0.1 s).
  std::uint8_t header[kHeaderBytes] = {};
  for (std::size_t i = 0; i < kHeaderBytes && i < size; ++i) header[i] = data[i];
  const std::size_t skip = size < kHeaderBytes ? size : kHeaderBytes;
  const std::string_view answer(reinterpret_cast<const char*>(data) + skip, size - skip);

  const std::int64_t start_ms = static_cast<std::int64_t>(header[1]) << 24 |
                                static_cast<std::int64_t>(header[2]) << 16 |
                                static_cast<std::int64_t>(header[3]) << 8 | header[4];
  const std::int64_t length_ns =
      (static_cast<std::int64_t>(header[5]) << 8 | header[6]) * 100'000'000;
  fp::WindowSpan window{.id = header[0], .start_ns = start_ms * 1'000'000, .end_ns = 0};
  switch (header[0] % 4) {
    case 0:
      window.start_ns %= 7'200'000'000'000;
      break;  // the first two hours
    case 1:
      break;  // up to 50 days
    case 2:
      window.start_ns = std::numeric_limits<std::int64_t>::max() - length_ns;
      break;
    case 3:
      window.start_ns = std::numeric_limits<std::int64_t>::min() + start_ms;
      break;
  }
  window.end_ns = window.start_ns + length_ns;

  std::vector<framescribe::core::Event> events = fp::parse_events(answer, window);
  check(events, window, answer);

  // A following window overlapping the second half of this one.
  const fp::WindowSpan next{
      .id = window.id + 1, .start_ns = window.start_ns + length_ns / 2, .end_ns = window.end_ns};
  std::vector<framescribe::core::Event> next_events = fp::parse_events(answer, next);
  check(next_events, next, answer);

  fp::EventMerger merger(fp::MergeOptions{.horizon_ns = std::numeric_limits<std::int64_t>::max(),
                                          .max_kept = std::numeric_limits<std::size_t>::max()});
  const std::size_t n = events.size();
  if (merger.add(events).size() != n) broken_promise("a first window lost events");
  if (!merger.add(events).empty()) broken_promise("an event was not a duplicate of itself");
  if (merger.add(next_events).size() > next_events.size()) broken_promise("merger added events");
  if (merger.remembered() > n + next_events.size()) broken_promise("merger remembers too much");

  fp::EventMerger bounded(fp::MergeOptions{.horizon_ns = 1'000'000'000, .max_kept = 2});
  (void)bounded.add(events);
  (void)bounded.add(std::move(next_events));
  if (bounded.remembered() > 2) broken_promise("max_kept not respected");
  return 0;
}
