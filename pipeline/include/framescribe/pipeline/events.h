// Events from the model's answers: reading the timestamps it wrote, and dropping the events that
// overlapping windows describe twice.
//
//   pipeline::EventMerger merger;  // one per video
//   for (const core::WindowResult& w : described_windows_in_order) {
//     auto events = pipeline::parse_events(w.answer, {.id = w.id, .start_ns = w.start_ns,
//                                                     .end_ns = w.end_ns});
//     auto fresh = merger.add(std::move(events));  // what the sinks should print
//   }
//
// parse_events and text_similarity are pure functions: thread-safe. An EventMerger is a plain
// value that owns copies of the (normalised) events it keeps; it is not thread-safe (one per
// run, fed by the serial stage that orders windows).
//
// Parsing rules
// -------------
// The prompt labels each frame "[MM:SS.s]" ("[H:MM:SS.s]" past an hour, core::format_timestamp)
// and asks for one event per line as "[start-end] description". The parser reads, per line:
//
//   prefix   spaces, bullets ("-", "*", "+", ">", "#", "•", "·", en/em dash) and numbering
//            ("1.", "12)") are skipped, then an optional "[" or "("; markdown bold/italic marks
//            ("*", "_") around or inside the timestamp are ignored.
//   time     "MM:SS", "M:SS", "H:MM:SS" (seconds, and minutes after hours, exactly two digits
//            and below 60; leading minutes or hours any size) with an optional fraction
//            (".5", ".25", digits past nanoseconds are ignored), or seconds with a unit right
//            after them: "65s", "65.5s", "65sec", "65.5seconds" (a bare number is not a time).
//            A time directly followed by a letter or digit is not one ("10:30am" is text). Numbers
//            are read with checked arithmetic: a time that does not fit in int64 nanoseconds is not
//            a time.
//   range    an optional second time after "-", "–", "—", "~", "-->" or "to", each time
//            optionally in its own brackets ("[0:05] - [0:12]").
//   text     the rest of the line, without leading separators (spaces, ":", "-", "–", "—",
//            "|", ",", ";", ">"), inner whitespace runs collapsed to one space, trimmed.
//
// A line whose start (after the prefix) is not a time is continuation text of the previous
// timed event (joined with one space). Lines before the first timed line are dropped when the
// answer has timed lines (they are the model's preamble: "Here is what happens:"). Empty lines
// are ignored; a timed line whose text stays empty (no continuation either) is dropped.
//
// A single time "[0:05] text" starts an event that ends where the next event of the answer
// starts (if that is not earlier), otherwise at the window end.
//
// Rebasing. The frame labels are absolute media times, so answers normally are too; some
// models count from the window start instead. Per answer, over every time read (starts and
// explicit ends), with a slack of ParseOptions::slack_ns (1 s): a time "fits absolute" if it
// lies in [window.start - slack, window.end + slack], "fits relative" if time + window.start
// does. If every time fits absolute the answer is absolute; else if every time fits relative it
// is relative (window.start is added to every time); else the reading with more fitting times
// wins (ties: absolute). One decision for the whole answer, so events keep their order.
//
// Clamping. After rebasing, an event whose end is before its start is swapped; then start and
// end are clamped to [window.start, window.end]. An event entirely outside the window is kept
// (its text is what the model saw) and becomes a zero-length event at the window edge.
//
// Fallback. When no line is a usable timed event, the whole answer (whitespace collapsed,
// trimmed) is one event spanning the window, with timed = false. A blank answer (only
// whitespace) gives no events. Every event gets window_id = window.id.
//
// Merging
// -------
// Windows overlap, so the model describes some moments twice. EventMerger::add compares each
// event of a window with the events kept from earlier windows (not with those of its own
// window). Two events are duplicates when
//   - their time ranges overlap or are within MergeOptions::slack_ns of each other, and
//   - text_similarity(a, b) >= MergeOptions::min_similarity (0.6): the Jaccard index of their
//     word sets, where a word is a maximal run of ASCII letters and digits or bytes >= 0x80
//     (UTF-8 letters), ASCII letters lowered; case and punctuation are ignored. Two texts
//     without any word are similar (1.0) only if they are byte-equal.
// The earlier event is kept (it may have been printed already); the later one is dropped.
// Memory is bounded: after each add, kept events that end more than MergeOptions::horizon_ns
// before the latest end seen are forgotten, and at most MergeOptions::max_kept are remembered
// (oldest forgotten first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/event.h"

namespace framescribe::pipeline {

// The media time a window covered: [start_ns, end_ns).
struct WindowSpan {
  std::int64_t id = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
};

struct ParseOptions {
  // How far outside the window a time may be and still count as fitting it (rebasing).
  std::int64_t slack_ns = 1'000'000'000;
};

// Reads the events the model wrote (rules above). Returns at least one event for a non-blank
// answer, none for a blank one. Every event satisfies
// window.start_ns <= start_ns <= end_ns <= window.end_ns (a window with end < start is read as
// empty at its start), has non-empty text and window_id == window.id. Never throws on any input
// except std::bad_alloc.
std::vector<core::Event> parse_events(std::string_view answer, const WindowSpan& window,
                                      const ParseOptions& options = {});

// Word-set Jaccard similarity in [0, 1] (definition above).
double text_similarity(std::string_view a, std::string_view b);

struct MergeOptions {
  double min_similarity = 0.6;                // duplicates at or above this text similarity
  std::int64_t slack_ns = 2'000'000'000;      // time ranges this close count as overlapping
  std::int64_t horizon_ns = 600'000'000'000;  // remember events ending this close to the latest
  std::size_t max_kept = 4096;                // and at most this many
};

// Drops events of a later window that repeat one already kept (overlapping windows).
class EventMerger {
 public:
  explicit EventMerger(MergeOptions options = {});

  // One window's events, in the order of the answer. Returns those to keep, in the same order,
  // and remembers them for the windows after.
  std::vector<core::Event> add(std::vector<core::Event> window_events);

  // How many events are remembered now (bounded by the horizon and max_kept).
  std::size_t remembered() const { return kept_.size(); }

 private:
  struct Kept {
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
    std::vector<std::string> words;  // sorted, unique
    std::string text;                // compared when neither has words
  };
  bool is_duplicate(const core::Event& event, const std::vector<std::string>& words) const;
  void forget_old();

  MergeOptions options_;
  std::vector<Kept> kept_;  // in the order added
  std::int64_t latest_end_ns_ = 0;
  bool seen_any_ = false;
};

}  // namespace framescribe::pipeline
