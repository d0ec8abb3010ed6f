// The Pixtral image size rule: mistral-common `ImageEncoder._image_to_num_tokens` (image.py @
// bc022b91) and transformers' PixtralImageProcessor variant (docs/pixtral.md 4.1, 4.2).
#include "framescribe/core/patch_grid.h"

#include <algorithm>
#include <cmath>

#include "framescribe/core/error.h"

namespace framescribe::core {
namespace {

enum class ShrinkRounding { kHalfEven, kFloor };

// Python's round() on a double: nearest integer, ties to even. Written out rather than relying on
// std::nearbyint so the result does not depend on the floating-point environment's rounding mode.
double round_half_even(double v) {
  const double lower = std::floor(v);
  const double diff = v - lower;  // exact: v and lower are within a factor of two (or lower == 0)
  if (diff < 0.5) return lower;
  if (diff > 0.5) return lower + 1.0;
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

// Both size rules share everything but the rounding of the shrunk sides; the arithmetic mirrors
// the Python line by line (true division of ints in double, then round()/floor()) so that sizes
// on a rounding boundary come out the same as in the reference.
TargetSize size_rule(int width_px, int height_px, int longest_edge_px, int patch_px,
                     ShrinkRounding rounding) {
  FS_CHECK(width_px > 0 && height_px > 0, kInvalidArgument,
           "image size must be positive, got " << width_px << "x" << height_px);
  FS_CHECK(patch_px > 0, kInvalidArgument, "patch size must be positive, got " << patch_px);
  FS_CHECK(longest_edge_px > 0 && longest_edge_px % patch_px == 0, kInvalidArgument,
           "longest edge must be a positive multiple of the patch size " << patch_px << ", got "
                                                                         << longest_edge_px);

  const double longest = longest_edge_px;
  const double ratio = std::max(height_px / longest, width_px / longest);
  double width = width_px;
  double height = height_px;
  if (ratio > 1.0) {
    width /= ratio;
    height /= ratio;
    if (rounding == ShrinkRounding::kHalfEven) {
      width = round_half_even(width);
      height = round_half_even(height);
    } else {
      width = std::floor(width);
      height = std::floor(height);
    }
  }

  // (side - 1) // patch + 1. A side that shrank to 0 (aspect ratios beyond longest_edge:1) gets
  // one patch: mistral-common asserts there instead, and an image must cover at least one patch.
  // The upper clamp guards the 64x64 position table against float error (pixtral.md 8.13).
  const int max_patches = longest_edge_px / patch_px;
  const auto patches = [&](double side) {
    const auto side_px = static_cast<long long>(side);
    if (side_px <= 0) return 1;
    return static_cast<int>(std::min<long long>((side_px - 1) / patch_px + 1, max_patches));
  };
  return {patches(width) * patch_px, patches(height) * patch_px, patch_px};
}

}  // namespace

TargetSize target_size(int width_px, int height_px, int longest_edge_px, int patch_px) {
  return size_rule(width_px, height_px, longest_edge_px, patch_px, ShrinkRounding::kHalfEven);
}

TargetSize target_size_hf(int width_px, int height_px, int longest_edge_px, int patch_px) {
  return size_rule(width_px, height_px, longest_edge_px, patch_px, ShrinkRounding::kFloor);
}

}  // namespace framescribe::core
