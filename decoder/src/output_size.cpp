#include "framescribe/decoder/output_size.h"

#include "framescribe/core/error.h"

namespace framescribe::decoder {

int longest_edge_for_tokens(int width_px, int height_px, int max_tokens, int cap_edge_px,
                            int patch_px) {
  FS_CHECK(max_tokens > 0, kInvalidArgument,
           "--max-frame-tokens must be positive, got " << max_tokens);
  FS_CHECK(patch_px > 0 && cap_edge_px >= patch_px, kInvalidArgument,
           "longest edge " << cap_edge_px << " px is smaller than the " << patch_px << " px patch");
  // Tokens grow with the edge (never shrink), so the first edge from the top that fits is the
  // largest; at most cap/patch steps (64 for 1024 px).
  for (int edge = cap_edge_px / patch_px * patch_px; edge >= patch_px; edge -= patch_px) {
    if (core::target_size(width_px, height_px, edge, patch_px).n_tokens() <= max_tokens)
      return edge;
  }
  FS_FAIL(
      kInvalidArgument, "--max-frame-tokens "
                            << max_tokens << " is too small for a " << width_px << "x" << height_px
                            << " picture; the smallest size costs "
                            << core::target_size(width_px, height_px, patch_px, patch_px).n_tokens()
                            << " tokens");
}

core::TargetSize plan_output_size(int width_px, int height_px, const OutputSizing& sizing) {
  int edge = sizing.longest_edge_px;
  if (sizing.max_frame_tokens > 0) {
    edge = longest_edge_for_tokens(width_px, height_px, sizing.max_frame_tokens,
                                   sizing.longest_edge_px, sizing.patch_px);
  }
  return core::target_size(width_px, height_px, edge, sizing.patch_px);
}

}  // namespace framescribe::decoder
