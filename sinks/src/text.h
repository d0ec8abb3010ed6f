// Small text helpers shared by the formats (private to sinks/).
//
//   std::string s = html_escape("a < b & \"c\"");   // a &lt; b &amp; &quot;c&quot;
//   std::vector<std::string> lines = text_lines("one\r\n\n  two ");  // {"one", "two"}
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/event.h"
#include "framescribe/sinks/escape.h"  // html_escape, markup_escape

namespace framescribe::sinks {

// The non-blank lines of `text`, each without surrounding spaces, tabs or '\r'.
std::vector<std::string> text_lines(std::string_view text);

// Seconds as a double, rounded the way a person expects (5'000'000'000 ns -> 5.0 exactly).
inline double seconds(std::int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

// Seconds with three decimals, "12.500" (for attributes and CSS).
std::string seconds_fixed(std::int64_t ns);

// "%.1f" of a double, "4.2".
std::string one_decimal(double value);

// Events in order of start time; events that start together keep their arrival order.
void sort_by_start(std::vector<core::Event>& events);

// Replaces every occurrence of `from` in `text` by `to`, repeating until none is left
// (so "--->" with "-->" -> "->" ends as "->"). `to` must be shorter than `from`.
std::string replace_all_repeated(std::string text, std::string_view from, std::string_view to);

}  // namespace framescribe::sinks
