#include "jpeg_thumbnail.h"

#include <algorithm>
#include <cmath>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
}

#include "framescribe/core/error.h"

namespace framescribe::sinks {
namespace {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

const AVCodec* mjpeg_encoder() {
  return avcodec_find_encoder(AV_CODEC_ID_MJPEG);
}

}  // namespace

void require_jpeg_encoder() {
  FS_CHECK(mjpeg_encoder() != nullptr, kUnsupported,
           "this FFmpeg build has no MJPEG encoder, needed for the HTML report's thumbnails; "
           "install a full libavcodec or choose other output formats");
}

JpegThumbnailer::JpegThumbnailer(int width_px, int quality)
    : width_px_(std::max(2, width_px & ~1)),
      qscale_(2 + (100 - std::clamp(quality, 1, 100)) * 29 / 99) {}

void JpegThumbnailer::configure(const core::ImageView& image) {
  if (encoder_ && image.width_px == src_width_px_ && image.height_px == src_height_px_ &&
      image.format == src_format_) {
    return;
  }
  encoder_.reset();
  sws_.reset();
  yuv_.reset();
  const double h = std::round(static_cast<double>(width_px_) * image.height_px / image.width_px);
  height_px_ = std::max(2, static_cast<int>(h) & ~1);

  // Scale straight into full-range 4:2:0 (what JPEG stores). Asking swscale for the deprecated
  // yuvj420p would log a warning; the same layout labelled yuv420p + full range does not.
  const AVPixelFormat src_fmt =
      image.format == core::PixelFormat::kRgb8 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_RGBA;
  sws_.reset(sws_getContext(image.width_px, image.height_px, src_fmt, width_px_, height_px_,
                            AV_PIX_FMT_YUV420P, SWS_AREA, nullptr, nullptr, nullptr));
  FS_CHECK(sws_, kInternal,
           "cannot scale a " << image.width_px << "x" << image.height_px << " frame to "
                             << width_px_ << "x" << height_px_ << " for a thumbnail");
  const int* bt601 = sws_getCoefficients(SWS_CS_ITU601);
  sws_setColorspaceDetails(sws_.get(), bt601, 1, bt601, 1, 0, 1 << 16, 1 << 16);

  const AVCodec* codec = mjpeg_encoder();
  FS_CHECK(codec, kUnsupported, "this FFmpeg build has no MJPEG encoder");
  encoder_.reset(avcodec_alloc_context3(codec));
  yuv_.reset(av_frame_alloc());
  if (!packet_) packet_.reset(av_packet_alloc());
  FS_CHECK(encoder_ && yuv_ && packet_, kOutOfMemory, "cannot allocate a JPEG encoder");
  encoder_->width = width_px_;
  encoder_->height = height_px_;
  encoder_->pix_fmt = AV_PIX_FMT_YUVJ420P;
  encoder_->color_range = AVCOL_RANGE_JPEG;
  encoder_->time_base = {1, 25};
  encoder_->flags |= AV_CODEC_FLAG_QSCALE;
  encoder_->global_quality = FF_QP2LAMBDA * qscale_;
  int ret = avcodec_open2(encoder_.get(), codec, nullptr);
  FS_CHECK(ret >= 0, kInternal, "cannot open the MJPEG encoder: " << av_error(ret));

  yuv_->format = AV_PIX_FMT_YUVJ420P;
  yuv_->width = width_px_;
  yuv_->height = height_px_;
  yuv_->color_range = AVCOL_RANGE_JPEG;
  ret = av_frame_get_buffer(yuv_.get(), 0);
  FS_CHECK(ret >= 0, kOutOfMemory, "cannot allocate a thumbnail frame: " << av_error(ret));
  src_width_px_ = image.width_px;
  src_height_px_ = image.height_px;
  src_format_ = image.format;
}

Jpeg JpegThumbnailer::encode(const core::ImageView& image) {
  FS_CHECK(!image.empty(), kInvalidArgument, "cannot make a thumbnail of an empty image");
  configure(image);
  int ret = av_frame_make_writable(yuv_.get());  // the encoder may still hold the last one
  FS_CHECK(ret >= 0, kOutOfMemory, "cannot reuse the thumbnail frame: " << av_error(ret));
  const std::uint8_t* src[1] = {image.data};
  const int src_stride[1] = {static_cast<int>(image.stride_bytes)};
  const int rows =
      sws_scale(sws_.get(), src, src_stride, 0, image.height_px, yuv_->data, yuv_->linesize);
  FS_CHECK(rows == height_px_, kInternal, "scaling a frame for a thumbnail failed");
  yuv_->pts = next_pts_++;
  yuv_->quality = encoder_->global_quality;
  ret = avcodec_send_frame(encoder_.get(), yuv_.get());
  FS_CHECK(ret >= 0, kInternal, "JPEG encoding failed: " << av_error(ret));
  ret = avcodec_receive_packet(encoder_.get(), packet_.get());
  FS_CHECK(ret >= 0, kInternal, "JPEG encoding produced no data: " << av_error(ret));
  Jpeg jpeg{std::vector<std::uint8_t>(packet_->data, packet_->data + packet_->size), width_px_,
            height_px_};
  av_packet_unref(packet_.get());
  return jpeg;
}

}  // namespace framescribe::sinks
