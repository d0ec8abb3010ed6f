// The windows, prompts and summary of `framescribe summarize` as its command line gives them
// (seconds, counts, texts or prompt files), and the PipelineOptions of one video they make.
//
//   pipeline::RunSettings s;           // filled by the command line (--window-seconds, ...)
//   s.prompt_file = "prompt.txt";
//   pipeline::PipelineOptions p = pipeline::pipeline_options(s, context, max_tokens, "a.mp4");
//
// Errors: throws Error naming the option: kNotFound for a prompt file that cannot be read
// (--prompt-file, --summary-prompt-file), kInvalidArgument for a bad time (--window-seconds,
// --overlap) and for what validate(PackingOptions) refuses. Plain values; thread-safe (a
// prompt file is read at each call).
#pragma once

#include <cstdint>
#include <string>

#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline {

struct RunSettings {
  double window_s = 0;                              // --window-seconds (0: no time limit)
  std::int64_t max_frames_per_window = 0;           // --max-frames-per-window (0: no limit)
  double overlap_s = 0;                             // --overlap
  bool carry_previous = false;                      // --carry-previous
  std::int64_t carry_tokens = 256;                  // --carry-tokens
  std::int64_t max_frames_in_flight = 0;            // --max-frames-in-flight (0: twice a window)
  std::string prompt, prompt_file;                  // --prompt, or --prompt-file (wins when given)
  std::string summary_prompt, summary_prompt_file;  // likewise for the summary
  bool no_summary = false;                          // --no-summary
};

// The pipeline options of `video` (its display name, for the prompts): context_tokens and
// answer_reserve_tokens (the answer's tokens) as given, times in nanoseconds, the carried
// text's reserve only with carry_previous, the prompts from their files when named; validated.
PipelineOptions pipeline_options(const RunSettings& s, std::int64_t context_tokens,
                                 std::int64_t answer_reserve_tokens, const std::string& video);

}  // namespace framescribe::pipeline
