#include "framescribe/decoder/size_advice.h"

#include <algorithm>
#include <sstream>

namespace framescribe::decoder {

std::string max_edge_message(const std::string& option, long long value, int patch_px, int max_px) {
  std::ostringstream m;
  m << option << (option.empty() ? "" : " ") << "must be a multiple of " << patch_px << " between "
    << patch_px << " and " << max_px << ", got " << value;
  // The nearest valid values: the multiples of the patch size around it, clamped to the range.
  long long lo = value / patch_px * patch_px;
  long long hi = lo + patch_px;
  if (value < patch_px) lo = hi = patch_px;
  if (value > max_px) lo = hi = max_px;
  if (lo == hi) {
    m << ": try " << lo;
  } else {
    m << ": try " << lo << " or " << hi;
  }
  return m.str();
}

std::string strip_warning(const std::string& name, int width_px, int height_px,
                          const OutputSizing& sizing) {
  if (width_px <= 0 || height_px <= 0) return {};
  const core::TargetSize ts = plan_output_size(width_px, height_px, sizing);
  const int patch = sizing.patch_px;
  const int cols = ts.width_px / patch, rows = ts.height_px / patch;
  if (std::min(cols, rows) != 1 || std::max(cols, rows) <= 1 ||
      std::min(width_px, height_px) <= patch)
    return {};
  std::ostringstream m;
  m << name << ": " << width_px << "x" << height_px << " frames become " << ts.width_px << "x"
    << ts.height_px << ", one patch " << (rows == 1 ? "high" : "wide")
    << ": a strip the model can hardly read; crop the video (ffmpeg -vf crop=...) or give a "
       "larger --max-edge";
  return m.str();
}

}  // namespace framescribe::decoder
