// The size a sampled frame is resized to: the Pixtral size rule (core::target_size) applied to
// the picture as displayed, with the longest edge either given or chosen from a per-frame
// token budget.
//
//   decoder::OutputSizing sizing;
//   sizing.max_frame_tokens = 256;                          // or sizing.longest_edge_px = 512
//   core::TargetSize ts = decoder::plan_output_size(1920, 1080, sizing);   // 320 x 192, 252 tokens
//
// Pure functions; thread-safe.
#pragma once

#include "framescribe/core/patch_grid.h"

namespace framescribe::decoder {

struct OutputSizing {
  int longest_edge_px = 1024;  // Pixtral-12B's default image size
  int max_frame_tokens = 0;    // > 0: the largest longest edge (<= longest_edge_px) within budget
  int patch_px = 16;
};

// The largest longest edge, a multiple of patch_px and at most cap_edge_px, whose target size
// costs at most max_tokens. Throws Error(kInvalidArgument) when not even one patch row fits.
int longest_edge_for_tokens(int width_px, int height_px, int max_tokens, int cap_edge_px,
                            int patch_px = 16);

// Target size for a displayed picture of width_px x height_px. Throws Error(kInvalidArgument)
// for impossible sizes or budgets.
core::TargetSize plan_output_size(int width_px, int height_px, const OutputSizing& sizing);

}  // namespace framescribe::decoder
