// Pieces of `framescribe batch` and `framescribe search`: the progress line of a batch, the
// paths of its state and index files, and what --check prints.
//
//   sinks::ProgressLine line(!quiet, stderr, std::nullopt, progress_interval_s(), 0);
//   run_batch(..., [&](const BatchProgress& p) { show_batch_progress(line, p); });
//   line.print_line(batch_progress_text(summary.final));
//
// show_batch_progress is called under the runner's lock (one call at a time).
#pragma once

#include <filesystem>
#include <string>

#include "framescribe/pipeline/batch/batch_runner.h"
#include "framescribe/pipeline/batch/job_config.h"
#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/batch/plan.h"
#include "framescribe/sinks/progress_line.h"

namespace framescribe::apps {

// "5 already done, 25 to run" at the start, then "videos 12/30 done (5 earlier), 1 failed, 2
// running: a.mp4 45%, b.mp4 3%; 1 min 05 s, ETA 2 min 10 s" on stderr (a ProgressLine: redrawn in
// place on a terminal, log messages never inside it), one line per finished video above it
// (elsewhere: one line per finished video, with the totals, and the status line every 10 s, or
// every $FRAMESCRIBE_PROGRESS_INTERVAL seconds: progress_interval_s()). The ETA is the runner's,
// weighted by duration. batch_progress_text is the status line's text.
void show_batch_progress(sinks::ProgressLine& line, const pipeline::batch::BatchProgress& p);
std::string batch_progress_text(const pipeline::batch::BatchProgress& p);
double progress_interval_s();

// The state and index files of a shard: pipeline/batch/job_run.h.
using pipeline::batch::index_path;
using pipeline::batch::state_path;

// batch --check: loads the model folder's config and tokenizer (no weights; an error names the
// file) and checks that they agree, then prints "FILE: ok: ..." and one line per video with the
// settings it will run with (after the model folder's framescribe.json) and its output folder.
// Returns the exit status (0).
int print_batch_check(const std::string& file, const pipeline::batch::JobFile& job,
                      const std::vector<pipeline::batch::BatchVideo>& videos);

extern const char* const kBatchHelp;

}  // namespace framescribe::apps
