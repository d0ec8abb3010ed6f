// A decoded frame for the Pixtral glue's tests: a w x h RGB image of a fixed pattern (`seed`
// shifts it, so different seeds give different frames) at `pts_ns`.
#pragma once

#include <cstdint>
#include <memory>

#include "framescribe/core/frame.h"
#include "framescribe/core/image.h"

namespace framescribe::testing {

inline core::Frame test_frame(int w, int h, std::int64_t pts_ns, int seed) {
  auto img = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img->data()[img->stride_bytes() * y + 3 * x + c] =
            static_cast<std::uint8_t>((x * 37 + y * 11 + c * 80 + seed * 51) % 256);
  core::Frame f;
  f.image = img;
  f.pts_ns = pts_ns;
  return f;
}

}  // namespace framescribe::testing
