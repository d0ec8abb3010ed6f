// A preprocessed image of deterministic pseudo-random values in [-2, 2] (the range of normalised
// pixels), for engine tests that need pixels but no picture.
#pragma once

#include <cstdint>
#include <vector>

#include "framescribe/inference/preprocess.h"

namespace framescribe::inference::testing {

inline PixelImage random_image(int w, int h, unsigned seed) {
  PixelImage img{w, h, std::vector<float>(3ull * w * h)};
  std::uint32_t s = seed * 2654435761u + 1;
  for (float& v : img.chw) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int>(s >> 9) % 2001 - 1000) / 500.0f;  // [-2, 2]
  }
  return img;
}

}  // namespace framescribe::inference::testing
