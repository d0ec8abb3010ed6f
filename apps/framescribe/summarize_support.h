// Small pieces of `framescribe summarize` (and frames, probe): its help text, and where the
// progress texts and the seconds check live.
#pragma once

#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/progress_text.h"
#include "framescribe/sinks/progress_text.h"

namespace framescribe::apps {

// Seconds from the command line to nanoseconds, checked: pipeline/batch/job_run.h.
using pipeline::seconds_to_ns_checked;

// The progress texts: pipeline/progress_text.h (summarize), sinks/progress_text.h (frames, probe).
using pipeline::run_progress_text;
using sinks::media_progress_text;

extern const char* const kSummarizeHelp;

}  // namespace framescribe::apps
