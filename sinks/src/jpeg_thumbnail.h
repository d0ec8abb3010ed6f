// JPEG thumbnails of frames for the HTML report: libswscale scales, libavcodec's MJPEG encoder
// (yuvj420p, full range BT.601) encodes.
//
//   JpegThumbnailer thumbs(/*width_px=*/192, /*quality=*/80);
//   Jpeg j = thumbs.encode(frame.image->view());   // j.bytes: a complete JPEG file
//
// Owns its scaler and encoder (kept while frames keep the same size and format). Not
// thread-safe: one thread at a time. Errors: throws framescribe::Error (kUnsupported if this
// FFmpeg has no MJPEG encoder, kInternal if scaling or encoding fails).
#pragma once

#include <cstdint>
#include <vector>

#include "av_handles.h"
#include "framescribe/core/image.h"

namespace framescribe::sinks {

struct Jpeg {
  std::vector<std::uint8_t> bytes;
  int width_px = 0;
  int height_px = 0;
};

// Throws Error(kUnsupported) when libavcodec has no MJPEG encoder (checked before a run).
void require_jpeg_encoder();

class JpegThumbnailer {
 public:
  // `width_px` (rounded down to even, at least 2); `quality` 1..100 maps onto qscale 31..2.
  JpegThumbnailer(int width_px, int quality);

  // Scaled to width_px wide, the height keeping the aspect ratio (even, at least 2).
  Jpeg encode(const core::ImageView& image);

 private:
  void configure(const core::ImageView& image);

  int width_px_;
  int qscale_;
  // What the scaler and encoder are set up for.
  int src_width_px_ = 0;
  int src_height_px_ = 0;
  core::PixelFormat src_format_ = core::PixelFormat::kRgb8;
  int height_px_ = 0;
  std::int64_t next_pts_ = 0;
  SwsContextPtr sws_;
  AvCodecContextPtr encoder_;
  AvFramePtr yuv_;
  AvPacketPtr packet_;
};

}  // namespace framescribe::sinks
