#include "framescribe/core/image.h"

#include "framescribe/core/error.h"

namespace framescribe::core {

Image::Image(int width_px, int height_px, PixelFormat format)
    : width_px_(width_px), height_px_(height_px), format_(format) {
  // 1 << 15 per side is far beyond any video frame and keeps the byte count in range.
  FS_CHECK(width_px > 0 && height_px > 0 && width_px <= (1 << 15) && height_px <= (1 << 15),
           kInvalidArgument, "image size " << width_px << "x" << height_px << " is out of range");
  pixels_.assign(stride_bytes() * static_cast<std::size_t>(height_px), 0);
}

}  // namespace framescribe::core
