// The texts of the progress lines of a run and of a batch, made from their stats: what
// summarize and batch show on stderr (through sinks::ProgressLine).
//
//   progress.update([&] { return pipeline::run_progress_text("clip.mp4", stats); });
//   // "clip.mp4: 00:05.0 / 00:10.0 (50%), 5 frames, 1 windows, 2.00x real time, ETA 2.5 s"
//   if (p.change == batch::ProgressChange::kPlanned) line.print_line(batch::planned_text(p));
//   else if (batch::video_finished(p)) ...  // p.last above the status line
//   else line.update([&] { return batch::progress_text(p); });
//
// Pure functions of their arguments (durations as core::format_duration writes them); no
// errors; thread-safe.
#pragma once

#include <string>

#include "framescribe/pipeline/batch/batch_runner.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline {

// "clip.mp4: 00:05.0 / 00:10.0 (50%), 5 frames, 1 windows, 2.00x real time, ETA 2.5 s": the media
// position (and its share of a known end), frames sampled, windows done, media seconds per wall
// second and the time left at that speed; "clip.mp4: summarising" during the summary.
std::string run_progress_text(const std::string& video, const PipelineStats& s);

namespace batch {

// "videos 12/30 done (5 earlier), 1 failed, 2 running: a.mp4 45%, b.mp4 at 1.5 s, c.mp4
// starting; 1 min 05 s, ETA 2 min 10 s" (a video of unknown duration shows its position).
std::string progress_text(const BatchProgress& p);
// At the start (ProgressChange::kPlanned): "5 already done, 25 to run[, 2 given up on (failed
// batch.max_attempts times)]".
std::string planned_text(const BatchProgress& p);
// Whether `p` reports a video that ended (done, failed or given up on): p.last is then a line
// of its own.
bool video_finished(const BatchProgress& p);

}  // namespace batch
}  // namespace framescribe::pipeline
