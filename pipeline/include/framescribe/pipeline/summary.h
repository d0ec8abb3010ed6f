// The final summary of a video, made hierarchically: window descriptions are grouped into
// prompts that fit the context, each group is summarised, and the partial summaries are grouped
// again, as many passes as needed, until one prompt holds everything.
//
//   std::vector<pipeline::SummaryItem> items = {{0, 30e9, "[00:00.0-00:12.0] A car parks."}, ...};
//   pipeline::SummaryResult s = pipeline::summarize(items, engine, {.video_name = "cam.mp4"},
//   stop); s.text;     // the summary; s.passes == 1 when everything fit one prompt
//
// Each prompt is the summary template (variables {start}, {end}, {video}) then a blank line,
// then the items, one per line, in time order. Budget: the engine's context minus its answer
// reserve. An item too long for half the budget is cut (at a UTF-8 boundary) so that every
// pass at least halves the number of items. Not thread-safe (drives the engine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framescribe/core/stop.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pipeline {

struct SummaryItem {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::string text;  // one or more lines
};

struct SummaryOptions {
  std::string prompt_template;  // empty: kDefaultSummaryPrompt
  std::string video_name;
  std::int64_t context_tokens = 0;  // 0: the engine's
};

struct SummaryResult {
  std::string text;  // empty when there was nothing to summarise or it was stopped
  int passes = 0;
  std::int64_t prompts = 0;  // engine calls
  bool stopped = false;
};

SummaryResult summarize(std::vector<SummaryItem> items, WindowEngine& engine,
                        const SummaryOptions& options, const core::StopFlag& stop);

}  // namespace framescribe::pipeline
