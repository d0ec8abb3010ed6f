// Small pieces of `framescribe summarize` (and frames, probe): progress texts, help text.
#pragma once

#include <cstdint>
#include <string>

#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::apps {

// Seconds from the command line to nanoseconds, checked: pipeline/batch/job_run.h.
using pipeline::seconds_to_ns_checked;

// The texts of the progress line (sinks::ProgressLine) of summarize: "clip.mp4: 00:05.0 /
// 00:10.0 (50%), 5 frames, 1 windows, 2.00x real time, ETA 2.5 s" (media position, frames,
// windows, real-time factor, ETA); and of frames and probe: "frames: 5.0 / 10.0 s (50%), 5 frames".
std::string summarize_progress_text(const std::string& video, const pipeline::PipelineStats& s);
std::string media_progress_text(const std::string& what, double at_s, double total_s,
                                long long sampled);

extern const char* const kSummarizeHelp;

}  // namespace framescribe::apps
