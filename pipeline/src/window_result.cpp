#include "window_result.h"

#include <utility>
#include <vector>

namespace framescribe::pipeline {

core::WindowResult window_result(const WindowPlan& plan, const WindowAnswer& answer,
                                 double measured_ms) {
  core::WindowResult r;
  r.id = plan.id;
  r.start_ns = plan.start_ns;
  r.end_ns = plan.end_ns;
  r.frame_pts_ns.reserve(plan.frames.size());
  r.frames.reserve(plan.frames.size());
  for (const PreparedFrame& f : plan.frames) {
    r.frame_pts_ns.push_back(f.frame.pts_ns);
    r.frames.push_back(f.frame.image);
  }
  r.prompt_tokens = answer.prompt_tokens;
  r.answer_tokens = answer.answer_tokens;
  r.prompt_hash = answer.prompt_hash;
  r.engine_ms = answer.engine_ms > 0 ? answer.engine_ms : measured_ms;
  r.answer = core::sanitize_text(answer.text);
  return r;
}

void add_events(core::WindowResult& r, EventMerger& merger) {
  std::vector<core::Event> parsed = parse_events(r.answer, WindowSpan{r.id, r.start_ns, r.end_ns});
  r.events = merger.add(std::move(parsed));
}

}  // namespace framescribe::pipeline
