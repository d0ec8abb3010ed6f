// Before a video is decoded: does a frame at the planned size fit a window of its own? If not, no
// frame could be described (the packer would skip every one), so a command says so at once, with
// the largest frame size that fits.
//
//   auto size_at = [&](int edge) { return decoder::plan_output_size(w, h, sizing_with(edge)); };
//   std::string problem = pipeline::frame_fit_problem(packing, coster, sizing.longest_edge_px,
//                                                     sizing.patch_px, size_at, {start_ns,
//                                                     end_ns});
//   if (!problem.empty()) fail(video + ": " + problem);
//
// The token costs are the packer's own (fixed tokens, the frame's label and image block, the
// instruction for one frame, the carry reserve), with the labels and instruction at each of the
// given times (a later label may be longer). The message names options of the command line:
// "a frame needs N tokens; the context is C: use --max-edge E (the prompt and the answer reserve
// take R of the context)". Pure function; thread-safe as the coster is. Throws Error as
// WindowPacker's constructor for invalid options.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "framescribe/core/patch_grid.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pipeline/packer.h"

namespace framescribe::pipeline {

// Tokens of a window of one frame of `size` at `pts_ns` beside the packer's budget; `frame_tokens`
// (may be null) gets the frame's own tokens (label and image).
std::int64_t one_frame_window_tokens(const WindowPacker& packer, const PromptCoster& coster,
                                     const PackingOptions& packing, const core::TargetSize& size,
                                     std::int64_t pts_ns, std::int64_t* frame_tokens);

// "" when a frame of size_at(longest_edge_px) fits a window at every time in `label_pts`, else
// the problem and the largest edge (a multiple of patch_px below longest_edge_px) that fits.
std::string frame_fit_problem(const PackingOptions& packing, const PromptCoster& coster,
                              int longest_edge_px, int patch_px,
                              const std::function<core::TargetSize(int)>& size_at,
                              const std::vector<std::int64_t>& label_pts);

}  // namespace framescribe::pipeline
