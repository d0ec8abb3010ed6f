#include "text.h"

#include <algorithm>
#include <cstdio>

#include "framescribe/core/error.h"

namespace framescribe::sinks {

namespace {
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += quotes ? "&quot;" : "\"";
        break;
      case '\'':
        out += quotes ? "&#39;" : "'";
        break;
      default:
        out += c;
    }
  }
  return out;
}
}  // namespace

std::string html_escape(std::string_view text) {
  return escape(text, true);
}

std::string markup_escape(std::string_view text) {
  return escape(text, false);
}

std::vector<std::string> text_lines(std::string_view text) {
  std::vector<std::string> lines;
  constexpr std::string_view kSpace = " \t\r\f\v";
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    const std::size_t first = line.find_first_not_of(kSpace);
    if (first != std::string_view::npos) {
      const std::size_t last = line.find_last_not_of(kSpace);
      lines.emplace_back(line.substr(first, last - first + 1));
    }
    pos = nl + 1;
  }
  return lines;
}

std::string seconds_fixed(std::int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", seconds(ns));
  return buf;
}

std::string one_decimal(double value) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

void sort_by_start(std::vector<core::Event>& events) {
  std::stable_sort(events.begin(), events.end(), [](const core::Event& a, const core::Event& b) {
    return a.start_ns < b.start_ns;
  });
}

std::string replace_all_repeated(std::string text, std::string_view from, std::string_view to) {
  FS_ASSERT(to.size() < from.size());
  std::size_t pos = text.find(from);
  while (pos != std::string::npos) {
    text.replace(pos, from.size(), to);
    // A new occurrence can only begin within from.size() - 1 bytes before the replacement.
    pos = text.find(from, pos >= from.size() ? pos - from.size() + 1 : 0);
  }
  return text;
}

}  // namespace framescribe::sinks
