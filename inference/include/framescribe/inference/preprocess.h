// Image preprocessing for Pixtral, engine side: from an 8-bit RGB/RGBA image in memory to the
// normalised float CHW tensor the vision encoder reads, following mistral-common's ImageEncoder
// (docs/pixtral.md section 4): target size by the round-half-to-even rule, OpenCV-style
// INTER_CUBIC resize on float32, rescale by 1/255 and normalise with the CLIP mean/std,
// transparency composited over white.
//
//   using namespace framescribe::inference;
//   TargetSize ts = target_size(1920, 1080);          // {1024, 576}: 64 x 36 patches
//   PixelImage px = preprocess_image(frame.view());   // px.chw.size() == 3 * 576 * 1024
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <vector>

#include "framescribe/core/image.h"
#include "framescribe/core/patch_grid.h"
#include "framescribe/core/pixel_image.h"

namespace framescribe::inference {

// The size rule lives in core (decoders resize to it too); re-exported here.
using core::target_size;
using core::target_size_hf;
using core::TargetSize;

struct PreprocessOptions {
  int longest_edge_px = 1024;  // Pixtral-12B's image_size; smaller values trade detail for tokens
  int patch_px = 16;
  std::array<float, 3> mean = {0.48145466f, 0.4578275f, 0.40821073f};  // OpenAI CLIP, RGB
  std::array<float, 3> std = {0.26862954f, 0.26130258f, 0.27577711f};
};

// A normalised image, channel-major [3][height_px][width_px], sides multiples of the patch size.
// A core type, so the pipeline can carry prepared frames without depending on inference.
using core::PixelImage;

// Resizes interleaved float RGB (values 0..255, not clamped) like cv2.resize(..., INTER_CUBIC):
// Keys cubic with A = -0.75, half-pixel centres, replicated border, no antialiasing.
// `src` is [src_h][src_w][3]; returns [dst_h][dst_w][3].
std::vector<float> resize_bicubic_rgb(const std::vector<float>& src, int src_w, int src_h,
                                      int dst_w, int dst_h);

// The whole engine-side preprocessing of one image. Throws Error(kInvalidArgument) on an empty
// view.
PixelImage preprocess_image(const core::ImageView& image, const PreprocessOptions& options = {});

}  // namespace framescribe::inference
