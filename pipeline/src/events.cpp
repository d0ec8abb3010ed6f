// Reading timestamped events from answers, and merging overlapping windows (rules: events.h).
// The scanner works on one line at a time through Scanner, whose reads past the end return
// '\0', so no branch of the parser can index outside the answer.
#include "framescribe/pipeline/events.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace framescribe::pipeline {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

constexpr std::string_view kEnDash = "\xE2\x80\x93";
constexpr std::string_view kEmDash = "\xE2\x80\x94";
constexpr std::string_view kBullet = "\xE2\x80\xA2";
constexpr std::string_view kMiddleDot = "\xC2\xB7";

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kInt64Max : kInt64Min;
  return r;
}

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kInt64Max : kInt64Min;
  return r;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A cursor over one line. pos_ never exceeds the size; peeking past the end gives '\0'.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  char peek(std::size_t ahead = 0) const {
    return ahead < s_.size() - pos_ ? s_[pos_ + ahead] : '\0';
  }
  bool at(std::string_view prefix) const { return s_.substr(pos_).starts_with(prefix); }
  bool at_word_nocase(std::string_view word) const {
    const std::string_view rest = s_.substr(pos_);
    if (rest.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (to_lower(rest[i]) != word[i]) return false;
    }
    return true;
  }
  void skip(std::size_t n) { pos_ += std::min(n, s_.size() - pos_); }
  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t pos) { pos_ = std::min(pos, s_.size()); }
  std::string_view rest() const { return s_.substr(pos_); }

  void skip_spaces() {
    while (is_space(peek())) skip(1);
  }
  // Markdown emphasis around a timestamp: "**00:05**", "__00:05__".
  void skip_marks() {
    while (peek() == '*' || peek() == '_') skip(1);
  }
  void skip_spaces_and_marks() {
    while (is_space(peek()) || peek() == '*' || peek() == '_') skip(1);
  }
  // Skips a dash written as "-", en dash or em dash; returns whether there was one.
  bool skip_dash() {
    if (peek() == '-') {
      skip(1);
      return true;
    }
    for (std::string_view dash : {kEnDash, kEmDash}) {
      if (at(dash)) {
        skip(dash.size());
        return true;
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

struct Number {
  std::uint64_t value = 0;
  std::size_t digits = 0;
  bool overflow = false;
};

// Reads a run of digits (possibly none) with checked arithmetic.
Number read_number(Scanner& sc) {
  Number n;
  while (is_digit(sc.peek())) {
    const auto d = static_cast<std::uint64_t>(sc.peek() - '0');
    if (!n.overflow && (__builtin_mul_overflow(n.value, 10u, &n.value) ||
                        __builtin_add_overflow(n.value, d, &n.value))) {
      n.overflow = true;
    }
    ++n.digits;
    sc.skip(1);
  }
  return n;
}

// ".5" -> 500'000'000 ns; digits past nanoseconds are read and ignored. None: 0.
std::uint64_t read_fraction_ns(Scanner& sc) {
  if (sc.peek() != '.' || !is_digit(sc.peek(1))) return 0;
  sc.skip(1);
  std::uint64_t ns = 0;
  int used = 0;
  while (is_digit(sc.peek())) {
    if (used < 9) {
      ns = ns * 10 + static_cast<std::uint64_t>(sc.peek() - '0');
      ++used;
    }
    sc.skip(1);
  }
  for (; used < 9; ++used) ns *= 10;
  return ns;
}

// One time at the cursor: "MM:SS(.f)", "H:MM:SS(.f)" or "S(.f)s"/"sec"/"secs"/"second(s)".
// On failure the cursor is left where it was.
std::optional<std::int64_t> parse_time(Scanner& sc) {
  const std::size_t start = sc.pos();
  const auto fail = [&]() -> std::optional<std::int64_t> {
    sc.set_pos(start);
    return std::nullopt;
  };
  const Number a = read_number(sc);
  if (a.digits == 0 || a.overflow) return fail();

  std::uint64_t hours = 0, minutes = 0, seconds = 0, frac_ns = 0;
  if (sc.peek() == ':' && is_digit(sc.peek(1))) {
    sc.skip(1);
    const Number b = read_number(sc);
    if (b.digits != 2) return fail();
    if (sc.peek() == ':' && is_digit(sc.peek(1))) {
      sc.skip(1);
      const Number c = read_number(sc);
      if (c.digits != 2) return fail();
      hours = a.value;
      minutes = b.value;
      seconds = c.value;
      if (minutes >= 60) return fail();
    } else {
      minutes = a.value;
      seconds = b.value;
    }
    if (seconds >= 60) return fail();
    frac_ns = read_fraction_ns(sc);
    // "10:30am", "1:02:03:04", "00:05x": not a time.
    if (is_alnum(sc.peek()) || (sc.peek() == ':' && is_digit(sc.peek(1)))) return fail();
  } else {
    seconds = a.value;
    frac_ns = read_fraction_ns(sc);
    std::string unit;
    while (is_alpha(sc.peek()) && unit.size() < 8) {
      unit.push_back(to_lower(sc.peek()));
      sc.skip(1);
    }
    if (is_alnum(sc.peek())) return fail();
    if (unit != "s" && unit != "sec" && unit != "secs" && unit != "second" && unit != "seconds") {
      return fail();
    }
  }

  std::uint64_t total_s = 0, total_ns = 0;
  if (__builtin_mul_overflow(hours, 60u, &total_s) ||
      __builtin_add_overflow(total_s, minutes, &total_s) ||
      __builtin_mul_overflow(total_s, 60u, &total_s) ||
      __builtin_add_overflow(total_s, seconds, &total_s) ||
      __builtin_mul_overflow(total_s, 1'000'000'000u, &total_ns) ||
      __builtin_add_overflow(total_ns, frac_ns, &total_ns) ||
      total_ns > static_cast<std::uint64_t>(kInt64Max)) {
    return fail();
  }
  return static_cast<std::int64_t>(total_ns);
}

// Bullets and numbering before a timestamp: "- ", "* ", "•", "1. ", "12) ".
void skip_line_prefix(Scanner& sc) {
  for (;;) {
    sc.skip_spaces();
    const char c = sc.peek();
    if (c == '-' || c == '*' || c == '+' || c == '>' || c == '#' || c == '_') {
      sc.skip(1);
      continue;
    }
    bool skipped = false;
    for (std::string_view mark : {kBullet, kMiddleDot, kEnDash, kEmDash}) {
      if (sc.at(mark)) {
        sc.skip(mark.size());
        skipped = true;
        break;
      }
    }
    if (!skipped) break;
  }
  const std::size_t before = sc.pos();
  const Number n = read_number(sc);
  if (n.digits >= 1 && n.digits <= 3 && (sc.peek() == '.' || sc.peek() == ')') &&
      !is_digit(sc.peek(1))) {
    sc.skip(1);
    sc.skip_spaces_and_marks();
  } else {
    sc.set_pos(before);
  }
}

// "-", "–", "—", "~", "-->" or "to" between the two times of a range.
bool skip_range_separator(Scanner& sc) {
  if (sc.at("-->")) {
    sc.skip(3);
    return true;
  }
  if (sc.skip_dash()) return true;
  if (sc.peek() == '~') {
    sc.skip(1);
    return true;
  }
  if (sc.at_word_nocase("to") && !is_alpha(sc.peek(2))) {
    sc.skip(2);
    return true;
  }
  return false;
}

// Separators the model puts between a timestamp and its text: ":", "-", "|", ...
std::string_view strip_leading_separators(std::string_view text) {
  Scanner sc(text);
  for (;;) {
    sc.skip_spaces();
    const char c = sc.peek();
    if (c == ':' || c == '|' || c == ',' || c == ';' || c == '>') {
      sc.skip(1);
    } else if (!sc.skip_dash()) {
      break;
    }
  }
  return sc.rest();
}

// Appends `text` to `out` with whitespace runs collapsed to one space and no space at the ends.
void append_collapsed(std::string& out, std::string_view text) {
  bool pending_space = !out.empty();
  bool wrote = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = pending_space || wrote;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
    wrote = true;
  }
}

std::string collapse(std::string_view text) {
  std::string out;
  append_collapsed(out, text);
  return out;
}

struct RawEvent {
  std::int64_t start_ns = 0;
  std::optional<std::int64_t> end_ns;
  std::string text;
};

// One line: a timed event, or nullopt when the line does not start with a time.
std::optional<RawEvent> parse_timed_line(std::string_view line) {
  Scanner sc(line);
  skip_line_prefix(sc);
  if (sc.peek() == '[' || sc.peek() == '(') sc.skip(1);
  sc.skip_spaces_and_marks();
  const std::optional<std::int64_t> first = parse_time(sc);
  if (!first) return std::nullopt;

  RawEvent event;
  event.start_ns = *first;
  // A range: "[a-b]", "a - b", "[a] - [b]", "**a** to **b**". Without a second time the
  // separator belongs to the text ("[0:05] - text").
  const std::size_t after_first = sc.pos();
  sc.skip_spaces_and_marks();
  if (sc.peek() == ']' || sc.peek() == ')') {
    sc.skip(1);
    sc.skip_spaces_and_marks();
  }
  if (skip_range_separator(sc)) {
    sc.skip_spaces_and_marks();
    if (sc.peek() == '[' || sc.peek() == '(') sc.skip(1);
    sc.skip_spaces_and_marks();
    event.end_ns = parse_time(sc);
  }
  if (!event.end_ns) sc.set_pos(after_first);

  // Closing bracket and emphasis right after the timestamp ("**[0:05]**: text").
  const std::size_t after_times = sc.pos();
  sc.skip_marks();
  sc.skip_spaces();
  if (sc.peek() == ']' || sc.peek() == ')') {
    sc.skip(1);
    sc.skip_marks();
  } else {
    sc.set_pos(after_times);
    sc.skip_marks();
  }
  event.text = collapse(strip_leading_separators(sc.rest()));
  return event;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return is_space(c); });
}

}  // namespace

std::vector<core::Event> parse_events(std::string_view answer, const WindowSpan& window,
                                      const ParseOptions& options) {
  std::vector<core::Event> events;
  if (is_blank(answer)) return events;
  const std::int64_t window_start = window.start_ns;
  const std::int64_t window_end = std::max(window.end_ns, window.start_ns);

  // Lines: timed ones start events, the others continue the last event.
  std::vector<RawEvent> raw;
  std::size_t line_begin = 0;
  while (line_begin <= answer.size()) {
    std::size_t line_end = answer.find('\n', line_begin);
    if (line_end == std::string_view::npos) line_end = answer.size();
    const std::string_view line = answer.substr(line_begin, line_end - line_begin);
    line_begin = line_end + 1;
    if (is_blank(line)) continue;
    if (std::optional<RawEvent> timed = parse_timed_line(line)) {
      raw.push_back(std::move(*timed));
    } else if (!raw.empty()) {
      append_collapsed(raw.back().text, line);
    }  // else: preamble before the first timed line, dropped (or the fallback below)
  }
  std::erase_if(raw, [](const RawEvent& e) { return e.text.empty(); });

  if (raw.empty()) {
    events.push_back(core::Event{.start_ns = window_start,
                                 .end_ns = window_end,
                                 .text = collapse(answer),
                                 .window_id = window.id,
                                 .timed = false});
    return events;
  }

  // Absolute or window-relative: one decision for the answer (events.h, "Rebasing").
  const std::int64_t slack = std::max<std::int64_t>(options.slack_ns, 0);
  const std::int64_t low = saturating_sub(window_start, slack);
  const std::int64_t high = saturating_add(window_end, slack);
  const auto fits = [&](std::int64_t t) { return low <= t && t <= high; };
  const auto fits_relative = [&](std::int64_t t) {
    std::int64_t shifted = 0;
    return !__builtin_add_overflow(t, window_start, &shifted) && fits(shifted);
  };
  std::size_t n_times = 0, n_absolute = 0, n_relative = 0;
  const auto count = [&](std::int64_t t) {
    ++n_times;
    n_absolute += fits(t) ? 1 : 0;
    n_relative += fits_relative(t) ? 1 : 0;
  };
  for (const RawEvent& e : raw) {
    count(e.start_ns);
    if (e.end_ns) count(*e.end_ns);
  }
  const bool relative = n_absolute != n_times && (n_relative == n_times || n_relative > n_absolute);
  const std::int64_t offset = relative ? window_start : 0;

  events.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::int64_t start = saturating_add(raw[i].start_ns, offset);
    std::int64_t end = window_end;
    if (raw[i].end_ns) {
      end = saturating_add(*raw[i].end_ns, offset);
    } else if (i + 1 < raw.size()) {
      const std::int64_t next_start = saturating_add(raw[i + 1].start_ns, offset);
      if (next_start >= start) end = next_start;
    }
    events.push_back(
        core::Event{.start_ns = std::clamp(std::min(start, end), window_start, window_end),
                    .end_ns = std::clamp(std::max(start, end), window_start, window_end),
                    .text = std::move(raw[i].text),
                    .window_id = window.id,
                    .timed = true});
  }
  return events;
}

namespace {

// Words for the similarity measure: runs of ASCII letters/digits and non-ASCII bytes, lowered.
std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (is_alnum(c) || static_cast<unsigned char>(c) >= 0x80) {
      word.push_back(to_lower(c));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

// Jaccard index of two sorted, unique word lists; texts without words match only themselves.
double similarity(const std::vector<std::string>& a, std::string_view a_text,
                  const std::vector<std::string>& b, std::string_view b_text) {
  if (a.empty() && b.empty()) return a_text == b_text ? 1.0 : 0.0;
  std::size_t common = 0;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() && ib != b.end()) {
    if (*ia < *ib) {
      ++ia;
    } else if (*ib < *ia) {
      ++ib;
    } else {
      ++common;
      ++ia;
      ++ib;
    }
  }
  const std::size_t all = a.size() + b.size() - common;
  return static_cast<double>(common) / static_cast<double>(all);
}

}  // namespace

double text_similarity(std::string_view a, std::string_view b) {
  return similarity(words_of(a), a, words_of(b), b);
}

EventMerger::EventMerger(MergeOptions options) : options_(options) {}

bool EventMerger::is_duplicate(const core::Event& event,
                               const std::vector<std::string>& words) const {
  const std::int64_t start = std::min(event.start_ns, event.end_ns);
  const std::int64_t end = std::max(event.start_ns, event.end_ns);
  const std::int64_t slack = std::max<std::int64_t>(options_.slack_ns, 0);
  for (const Kept& k : kept_) {
    const bool near_in_time =
        start <= saturating_add(k.end_ns, slack) && k.start_ns <= saturating_add(end, slack);
    if (near_in_time && similarity(words, event.text, k.words, k.text) >= options_.min_similarity) {
      return true;
    }
  }
  return false;
}

std::vector<core::Event> EventMerger::add(std::vector<core::Event> window_events) {
  std::vector<core::Event> keep;
  std::vector<Kept> fresh;
  for (core::Event& event : window_events) {
    std::vector<std::string> words = words_of(event.text);
    if (is_duplicate(event, words)) continue;
    const std::int64_t start = std::min(event.start_ns, event.end_ns);
    const std::int64_t end = std::max(event.start_ns, event.end_ns);
    latest_end_ns_ = seen_any_ ? std::max(latest_end_ns_, end) : end;
    seen_any_ = true;
    fresh.push_back(
        Kept{.start_ns = start, .end_ns = end, .words = std::move(words), .text = event.text});
    keep.push_back(std::move(event));
  }
  kept_.insert(kept_.end(), std::make_move_iterator(fresh.begin()),
               std::make_move_iterator(fresh.end()));
  forget_old();
  return keep;
}

void EventMerger::forget_old() {
  if (!seen_any_) return;
  const std::int64_t cutoff =
      saturating_sub(latest_end_ns_, std::max<std::int64_t>(options_.horizon_ns, 0));
  std::erase_if(kept_, [cutoff](const Kept& k) { return k.end_ns < cutoff; });
  if (kept_.size() > options_.max_kept) {
    kept_.erase(kept_.begin(),
                kept_.begin() + static_cast<std::ptrdiff_t>(kept_.size() - options_.max_kept));
  }
}

}  // namespace framescribe::pipeline
