#include "framescribe/pipeline/batch/recommended.h"

namespace framescribe::pipeline::batch {

void apply_recommended(JobFile& job, const Recommended& r) {
  for (JobSpec& j : job.jobs) {
    SamplingSettings& s = j.settings.sampling;
    if (!s.mode_given) {
      s.fps = r.fps;
      s.every = 0;
      s.keyframes = false;
      s.scene = -1;
    }
    if (!s.max_edge_given) s.max_edge_px = r.max_edge_px;
    if (!j.settings.generation.max_tokens_given) j.settings.generation.max_tokens = r.max_tokens;
  }
}

}  // namespace framescribe::pipeline::batch
