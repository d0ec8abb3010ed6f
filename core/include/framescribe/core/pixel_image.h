// A frame made ready for a vision encoder: normalised float pixels, channel-major
// [3][height_px][width_px], sides multiples of the encoder's patch size.
//
//   auto px = std::make_shared<const core::PixelImage>(
//       inference::preprocess_image(frame.image->view()));   // inference/preprocess.h makes them
//   plan.frames[i].pixels = px;                                // the pipeline carries them
//   engine.encode_images(std::vector<const core::PixelImage*>{px.get()});   // by reference
//
// A plain value in core, so the pipeline can carry prepared frames by type (shared, never
// copied) without depending on the inference module, which makes and reads them
// (inference::PixelImage is this type). Not synchronised: share it for reading only.
#pragma once

#include <vector>

namespace framescribe::core {

struct PixelImage {
  int width_px = 0;
  int height_px = 0;
  std::vector<float> chw;  // 3 * height_px * width_px values
};

}  // namespace framescribe::core
