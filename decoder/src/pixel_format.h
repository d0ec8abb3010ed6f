// Pixel-format helpers shared by the video and still-image converters (private to decoder/).
#pragma once

extern "C" {
#include <libavutil/pixfmt.h>
}

namespace framescribe::decoder {

// The deprecated full-range "J" formats, as their plain format plus a full-range flag, so
// swscale gets the range from us and does not warn.
inline AVPixelFormat plain_pixel_format(AVPixelFormat f, bool* full_range) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      *full_range = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      *full_range = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      *full_range = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      *full_range = true;
      return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
      *full_range = true;
      return AV_PIX_FMT_YUV411P;
    default:
      return f;
  }
}

}  // namespace framescribe::decoder
