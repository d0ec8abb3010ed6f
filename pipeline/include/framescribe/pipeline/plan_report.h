// The dry run of a video (summarize --dry-run): the windows a run would make, as JSON and as
// text, without an engine (plan_video over the whole source, the prompt costs of `coster`).
//
//   const pipeline::PlanReport r =
//       pipeline::plan_report(source, "talk.mp4", source.sampling_text(), options, coster);
//   std::cout << r.text;                         // or parse r.json and print it
//
// JSON (one object, compact): video, duration_s (null when unknown), sampling, context_tokens,
// answer_reserve_tokens, then from the first frame frame_width_px, frame_height_px,
// tokens_per_frame, image_tokens_per_frame, max_frames_per_window, max_frames_in_flight,
// budget_tokens; frames, frames_skipped, windows [{start_s, end_s, frames, tokens, frame_times}].
// Text: "talk.mp4: 16 frames (fps 1), 2 windows" and "  00:00.0 - 00:08.0  8 frames, 700 tokens"
// per window. Throws what the source or the packer throws. One thread.
#pragma once

#include <string>

#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline {

struct PlanReport {
  std::string json;  // one object, compact
  std::string text;  // a line for the video, then one per window
};

PlanReport plan_report(core::FrameSource& source, const std::string& name,
                       const std::string& sampling_text, const PipelineOptions& options,
                       const PromptCoster& coster);

}  // namespace framescribe::pipeline
