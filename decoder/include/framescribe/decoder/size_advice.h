// What to tell a user about a frame size: a longest edge that is not on the patch grid (with the
// nearest valid values), and frames that would come out one patch high or wide (a strip the
// model can hardly read).
//
//   std::string m = decoder::max_edge_message("--max-edge", 500, 16, 1024);
//   // "--max-edge must be a multiple of 16 between 16 and 1024, got 500: try 496 or 512"
//   std::string w = decoder::strip_warning("cam.mp4", 4000, 100, sizing);   // "" or the warning
//
// Pure functions; thread-safe. strip_warning throws as plan_output_size for impossible sizings.
#pragma once

#include <string>

#include "framescribe/decoder/output_size.h"

namespace framescribe::decoder {

// `option` may be empty (CLI11 puts the option's name first itself).
std::string max_edge_message(const std::string& option, long long value, int patch_px, int max_px);

// "" unless a width_px x height_px picture (larger than a patch both ways) becomes one patch high
// or wide under `sizing`; then "<name>: WxH frames become wxh, one patch high: a strip ... crop
// the video (ffmpeg -vf crop=...) or give a larger --max-edge". "" for unknown sizes (<= 0).
std::string strip_warning(const std::string& name, int width_px, int height_px,
                          const OutputSizing& sizing);

}  // namespace framescribe::decoder
