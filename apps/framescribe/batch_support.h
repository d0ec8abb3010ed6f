// Pieces of `framescribe batch` and `framescribe search`: the paths of a batch's state and index
// files, and what --check prints. The progress texts are pipeline/progress_text.h's and
// sinks/progress_text.h's.
#pragma once

#include <filesystem>
#include <string>

#include "framescribe/pipeline/batch/batch_runner.h"
#include "framescribe/pipeline/batch/job_config.h"
#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/batch/plan.h"

namespace framescribe::apps {

// batch --check: loads the model folder's config and tokenizer (no weights; an error names the
// file) and checks that they agree, then prints "FILE: ok: ..." and one line per video with the
// settings it will run with (after the model folder's framescribe.json) and its output folder.
// Returns the exit status (0).
int print_batch_check(const std::string& file, const pipeline::batch::JobFile& job,
                      const std::vector<pipeline::batch::BatchVideo>& videos);

extern const char* const kBatchHelp;

}  // namespace framescribe::apps
