// Prompt templates (syntax and errors: prompt_template.h).
#include "framescribe/pipeline/prompt_template.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"

namespace framescribe::pipeline {

const char kDefaultWindowPrompt[] =
    "These are {n_frames} frames of the video {video}, from {start} to {end}. Each frame comes "
    "after its timestamp in brackets. List what happens, one event per line, as [start-end] "
    "description, using the frame timestamps.";

const char kDefaultSummaryPrompt[] =
    "Here are timestamped descriptions of the video {video}, from {start} to {end}. Summarise "
    "what happens in the whole video in a few sentences, keeping the times of the main events.";

namespace {

struct Position {
  std::size_t line = 1;
  std::size_t column = 1;
};

std::string where(Position at) {
  if (at.line == 1) return "column " + std::to_string(at.column);
  return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column);
}

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "prompt template: " + message);
}

// Walks the template once: literal(text) for the text between variables (escapes resolved),
// variable(name, position) for each "{name}". Syntax errors throw.
template <typename Literal, typename Variable>
void walk(std::string_view tmpl, Literal&& literal, Variable&& variable) {
  std::size_t line = 1;
  std::size_t line_start = 0;
  std::size_t piece = 0;  // start of the literal text not yet handed out
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      ++i;
      continue;
    }
    if (c != '{' && c != '}') {
      ++i;
      continue;
    }
    const Position at{line, i - line_start + 1};
    literal(tmpl.substr(piece, i - piece));
    if (i + 1 < tmpl.size() && tmpl[i + 1] == c) {  // "{{" or "}}"
      literal(tmpl.substr(i, 1));
      i += 2;
      piece = i;
      continue;
    }
    if (c == '}') {
      fail("'}' at " + where(at) + " closes nothing; write '}}' for a literal brace");
    }
    std::size_t close = i + 1;
    while (close < tmpl.size() && tmpl[close] != '}' && tmpl[close] != '{' && tmpl[close] != '\n') {
      ++close;
    }
    if (close >= tmpl.size() || tmpl[close] != '}') {
      fail("'{' at " + where(at) +
           " is not closed on its line; write '{{' for a literal brace, or close it as {name}");
    }
    const std::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (name.empty()) {
      fail("empty variable '{}' at " + where(at) + "; write '{{}}' for literal braces");
    }
    variable(name, at);
    i = close + 1;
    piece = i;
  }
  literal(tmpl.substr(piece));
}

template <typename Names>
std::string join(const Names& names) {
  std::string list;
  for (const auto& n : names) {
    if (!list.empty()) list += ", ";
    list += n;
  }
  return list.empty() ? "(none)" : list;
}

[[noreturn]] void unknown_variable(std::string_view name, Position at, const std::string& known) {
  fail("unknown variable '{" + std::string(name) + "}' at " + where(at) +
       "; known variables: " + known + " (write '{{' for a literal brace)");
}

}  // namespace

std::string expand_template(std::string_view tmpl, const TemplateVars& vars) {
  std::string out;
  out.reserve(tmpl.size());
  walk(
      tmpl, [&](std::string_view text) { out += text; },
      [&](std::string_view name, Position at) {
        const auto it = vars.find(name);
        if (it == vars.end()) {
          std::vector<std::string_view> known;
          for (const auto& entry : vars) known.push_back(entry.first);
          unknown_variable(name, at, join(known));
        }
        out += it->second;
      });
  return out;
}

void check_template(std::string_view tmpl, std::span<const std::string_view> allowed) {
  walk(
      tmpl, [](std::string_view) {},
      [&](std::string_view name, Position at) {
        for (std::string_view a : allowed) {
          if (a == name) return;
        }
        unknown_variable(name, at, join(allowed));
      });
}

std::vector<std::string> template_variables(std::string_view tmpl) {
  std::vector<std::string> names;
  walk(
      tmpl, [](std::string_view) {},
      [&](std::string_view name, Position) {
        for (const std::string& n : names)
          if (n == name) return;
        names.emplace_back(name);
      });
  return names;
}

TemplateVars window_prompt_vars(std::string_view video, std::int64_t start_ns, std::int64_t end_ns,
                                std::int64_t n_frames) {
  TemplateVars vars = summary_prompt_vars(video, start_ns, end_ns);
  vars.emplace("n_frames", std::to_string(n_frames));
  return vars;
}

TemplateVars summary_prompt_vars(std::string_view video, std::int64_t start_ns,
                                 std::int64_t end_ns) {
  return TemplateVars{{"video", std::string(video)},
                      {"start", core::format_timestamp(start_ns)},
                      {"end", core::format_timestamp(end_ns)}};
}

}  // namespace framescribe::pipeline
