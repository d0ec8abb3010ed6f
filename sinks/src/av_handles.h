// RAII owners for the few FFmpeg handles the thumbnails need. The sinks may not link the
// decoder module, so these are the sinks' own (same style as decoder/av_ptr.h).
//
//   AvCodecContextPtr enc(avcodec_alloc_context3(codec));   // freed on every path
//
// One owner per handle (move-only); FFmpeg objects are not thread-safe, neither are these.
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

namespace framescribe::sinks {

struct AvFrameDeleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct AvPacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct AvCodecContextDeleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct SwsContextDeleter {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};

using AvFramePtr = std::unique_ptr<AVFrame, AvFrameDeleter>;
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketDeleter>;
using AvCodecContextPtr = std::unique_ptr<AVCodecContext, AvCodecContextDeleter>;
using SwsContextPtr = std::unique_ptr<SwsContext, SwsContextDeleter>;

}  // namespace framescribe::sinks
