// Prompt templates: the text sent with each window and with the final summary, with {variables}.
//
//   // At config load: reject a bad user template before any video is opened.
//   pipeline::check_template(job.window_prompt, pipeline::kWindowPromptVariables);
//   // Per window:
//   std::string prompt = pipeline::expand_template(
//       job.window_prompt, pipeline::window_prompt_vars("talk.mp4", w.start_ns, w.end_ns, 12));
//
// Syntax: "{name}" is replaced by the value of the variable `name`; "{{" and "}}" are a literal
// "{" and "}". Anything else is copied as it is. Errors throw framescribe::Error with
// kInvalidArgument and the 1-based column (in bytes, within its line; the line too past the
// first) of the offending brace:
//   - an unknown variable (the message names it and lists the known ones),
//   - a "{" not closed before the end of its line (or before another "{"),
//   - a "}" that is neither "}}" nor the end of a variable,
//   - an empty "{}".
//
// Pure functions over their arguments and immutable constants: thread-safe, nothing owned.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace framescribe::pipeline {

using TemplateVars = std::map<std::string, std::string, std::less<>>;

// The default prompts (variables: kWindowPromptVariables and kSummaryPromptVariables).
extern const char kDefaultWindowPrompt[];
extern const char kDefaultSummaryPrompt[];

// The variables of the window prompt: "video" (as the user named it), "start" and "end" (the
// window's media times, core::format_timestamp), "n_frames" (frames in the window).
inline constexpr std::array<std::string_view, 4> kWindowPromptVariables = {"video", "start", "end",
                                                                           "n_frames"};
// The variables of the summary prompt: "video", "start", "end" (of the whole run).
inline constexpr std::array<std::string_view, 3> kSummaryPromptVariables = {"video", "start",
                                                                            "end"};

// Replaces {name} by vars.at(name); "{{" and "}}" are literal braces. Throws Error
// (kInvalidArgument) naming an unknown variable (and listing the known ones) or an unclosed
// brace, with the column.
std::string expand_template(std::string_view tmpl, const TemplateVars& vars);

// Checks a user template against the allowed names without expanding (same errors).
void check_template(std::string_view tmpl, std::span<const std::string_view> allowed);

// The names of the variables `tmpl` uses, in order of first use (same errors as check_template,
// without a list of allowed names: any name is returned).
std::vector<std::string> template_variables(std::string_view tmpl);

// The values of kWindowPromptVariables for one window.
TemplateVars window_prompt_vars(std::string_view video, std::int64_t start_ns, std::int64_t end_ns,
                                std::int64_t n_frames);
// The values of kSummaryPromptVariables for a run.
TemplateVars summary_prompt_vars(std::string_view video, std::int64_t start_ns,
                                 std::int64_t end_ns);

}  // namespace framescribe::pipeline
