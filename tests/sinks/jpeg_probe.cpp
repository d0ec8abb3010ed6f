#include "sinks/jpeg_probe.h"

#include "av_handles.h"  // sinks/src: the module's own FFmpeg deleters

namespace framescribe::testing {

using sinks::AvCodecContextPtr;
using sinks::AvFramePtr;
using sinks::AvPacketPtr;
using sinks::SwsContextPtr;

JpegInfo probe_jpeg(const std::vector<std::uint8_t>& bytes) {
  JpegInfo info;
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  AvCodecContextPtr dec(avcodec_alloc_context3(codec));
  AvPacketPtr pkt(av_packet_alloc());
  AvFramePtr frame(av_frame_alloc());
  if (!codec || !dec || !pkt || !frame || avcodec_open2(dec.get(), codec, nullptr) < 0) {
    info.error = "cannot open the MJPEG decoder";
    return info;
  }
  if (av_new_packet(pkt.get(), static_cast<int>(bytes.size())) < 0) {
    info.error = "cannot allocate a packet";
    return info;
  }
  std::copy(bytes.begin(), bytes.end(), pkt->data);
  if (avcodec_send_packet(dec.get(), pkt.get()) < 0 ||
      avcodec_receive_frame(dec.get(), frame.get()) < 0) {
    info.error = "not a decodable JPEG";
    return info;
  }
  info.width_px = frame->width;
  info.height_px = frame->height;
  SwsContextPtr sws(sws_getContext(
      frame->width, frame->height, static_cast<AVPixelFormat>(frame->format), frame->width,
      frame->height, AV_PIX_FMT_RGB24, SWS_POINT, nullptr, nullptr, nullptr));
  if (!sws) {
    info.error = "cannot convert the decoded picture";
    return info;
  }
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(frame->width) * frame->height * 3);
  std::uint8_t* dst[1] = {rgb.data()};
  const int dst_stride[1] = {frame->width * 3};
  sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
  double sum[3] = {0, 0, 0};
  for (std::size_t i = 0; i < rgb.size(); ++i) sum[i % 3] += rgb[i];
  const double n = static_cast<double>(rgb.size() / 3);
  info.mean_r = sum[0] / n;
  info.mean_g = sum[1] / n;
  info.mean_b = sum[2] / n;
  info.ok = true;
  return info;
}

}  // namespace framescribe::testing
