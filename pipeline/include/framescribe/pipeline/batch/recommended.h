// A model folder's recommended settings (its framescribe.json, with the commands' defaults for
// what it leaves out) applied to the jobs of a batch, for what each job file left out: the same
// layering as summarize's command line (what the file gives wins).
//
//   const inference::ModelDefaults d = inference::resolve_model_settings(request).recommended;
//   batch::apply_recommended(job, {d.fps.value_or(1), d.max_edge.value_or(512),
//                                  d.max_tokens.value_or(512)});
//
// Plain values (the pipeline does not read model folders); no errors; not thread-safe on the
// same JobFile.
#pragma once

#include "framescribe/pipeline/batch/job_config.h"

namespace framescribe::pipeline::batch {

struct Recommended {
  double fps = 1;
  int max_edge_px = 512;
  int max_tokens = 512;
};

// For every job: unless its sampling mode was given, fps becomes r.fps and every, keyframes and
// scene are switched off; unless its max_edge was given, max_edge_px becomes r.max_edge_px;
// unless its max_tokens was given, max_tokens becomes r.max_tokens.
void apply_recommended(JobFile& job, const Recommended& r);

}  // namespace framescribe::pipeline::batch
