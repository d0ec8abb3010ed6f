#include "framescribe/pipeline/frame_fit.h"

#include <algorithm>
#include <sstream>

namespace framescribe::pipeline {

std::int64_t one_frame_window_tokens(const WindowPacker& packer, const PromptCoster& coster,
                                     const PackingOptions& packing, const core::TargetSize& ts,
                                     std::int64_t pts_ns, std::int64_t* frame_tokens) {
  const std::int64_t frame =
      coster.text_tokens(frame_label(pts_ns)) + coster.image_tokens(ts.width_px, ts.height_px);
  if (frame_tokens != nullptr) *frame_tokens = frame;
  return coster.fixed_tokens() + frame + coster.text_tokens(packer.instruction(pts_ns, pts_ns, 1)) +
         packing.carry_tokens;
}

std::string frame_fit_problem(const PackingOptions& packing, const PromptCoster& coster,
                              int longest_edge_px, int patch_px,
                              const std::function<core::TargetSize(int)>& size_at,
                              const std::vector<std::int64_t>& label_pts) {
  const WindowPacker packer(packing, coster);
  const std::int64_t budget = packer.budget_tokens();
  // The costliest of the labels given (a later label may be longer).
  auto worst = [&](int edge, std::int64_t* frame_tokens) {
    const core::TargetSize ts = size_at(edge);
    std::int64_t most = 0;
    for (const std::int64_t pts : label_pts) {
      std::int64_t f = 0;
      const std::int64_t n = one_frame_window_tokens(packer, coster, packing, ts, pts, &f);
      if (n >= most) {
        most = n;
        if (frame_tokens != nullptr) *frame_tokens = std::max(*frame_tokens, f);
      }
    }
    return most;
  };
  std::int64_t frame_tokens = 0;
  const std::int64_t need = worst(longest_edge_px, &frame_tokens);
  if (need <= budget) return {};
  const std::int64_t context =
      packing.context_tokens > 0 ? packing.context_tokens : coster.context_tokens();
  std::ostringstream m;
  m << "a frame needs " << frame_tokens << " tokens; the context is " << context << ": ";
  int fit = 0;
  for (int e = longest_edge_px - patch_px; e >= patch_px; e -= patch_px) {
    if (worst(e, nullptr) <= budget) {
      fit = e;
      break;
    }
  }
  if (fit > 0) {
    m << "use --max-edge " << fit;
  } else {
    m << "no --max-edge fits; give a larger --context or a smaller --max-tokens";
  }
  m << " (the prompt and the answer reserve take " << need - frame_tokens + (context - budget)
    << " of the context)";
  return m.str();
}

}  // namespace framescribe::pipeline
