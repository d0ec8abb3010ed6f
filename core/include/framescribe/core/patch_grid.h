// The Pixtral patch grid: which size an image is resized to, and how many tokens it costs.
//
//   core::TargetSize ts = core::target_size(1920, 1080);   // 1024 x 576: 64 x 36 patches
//   ts.n_tokens();                                          // 36 * 65 = 2340 prompt tokens
//
// Shared by the decoders (which resize straight to this size) and the engine. Pure functions.
#pragma once

namespace framescribe::core {

struct TargetSize {
  int width_px = 0;
  int height_px = 0;
  int patch_px = 16;
  int cols() const { return width_px / patch_px; }
  int rows() const { return height_px / patch_px; }
  // Tokens the image takes in a prompt: rows x ([IMG] x cols + [IMG_BREAK]/[IMG_END]).
  int n_tokens() const { return rows() * (cols() + 1); }
  int n_patches() const { return rows() * cols(); }
  bool operator==(const TargetSize&) const = default;
};

// mistral-common `_image_to_num_tokens`: if the longer side exceeds longest_edge_px, scale both
// sides by longest/ratio with Python round() (half to even); then each side up to a multiple of
// patch_px. Small images are never enlarged except for that last rounding. Throws
// Error(kInvalidArgument) for non-positive sizes or a longest edge that is not a positive
// multiple of the patch size.
TargetSize target_size(int width_px, int height_px, int longest_edge_px = 1024, int patch_px = 16);

// transformers' PixtralImageProcessor rule (floor instead of round when shrinking). Only for
// comparison and tests: framescribe follows mistral-common.
TargetSize target_size_hf(int width_px, int height_px, int longest_edge_px = 1024,
                          int patch_px = 16);

}  // namespace framescribe::core
