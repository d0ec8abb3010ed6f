// RAII owners for FFmpeg handles: each C handle lives in a std::unique_ptr with a deleter that
// calls the matching FFmpeg free function, so every early return and exception releases it.
//
//   decoder::AvFramePtr frame(av_frame_alloc());
//   decoder::AvPacketPtr packet(av_packet_alloc());
//   decoder::AvCodecContextPtr codec(avcodec_alloc_context3(nullptr));
//   if (!frame || !packet || !codec) throw ...;   // the aliases do not check for null
//
// Ownership: the pointer owns the handle outright (one owner, move-only). Threading: as the
// handle itself; none of these FFmpeg objects may be used from two threads at once.
// This header includes FFmpeg headers, so it is for the decoder's sources and for callers that
// already use FFmpeg (tests, fuzzers); the source's own public header does not need it.
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

namespace framescribe::decoder {

struct AvFrameDeleter {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct AvPacketDeleter {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct AvCodecContextDeleter {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
// For contexts opened with avformat_open_input (it also frees contexts whose open failed).
struct AvFormatInputDeleter {
  void operator()(AVFormatContext* f) const noexcept { avformat_close_input(&f); }
};
// A custom AVIOContext: frees the buffer FFmpeg may have reallocated, then the context.
struct AvIoContextDeleter {
  void operator()(AVIOContext* io) const noexcept {
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
struct SwsContextDeleter {
  void operator()(SwsContext* s) const noexcept { sws_freeContext(s); }
};
struct AvDictionaryDeleter {
  void operator()(AVDictionary* d) const noexcept { av_dict_free(&d); }
};

using AvFramePtr = std::unique_ptr<AVFrame, AvFrameDeleter>;
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketDeleter>;
using AvCodecContextPtr = std::unique_ptr<AVCodecContext, AvCodecContextDeleter>;
using AvFormatInputPtr = std::unique_ptr<AVFormatContext, AvFormatInputDeleter>;
using AvIoContextPtr = std::unique_ptr<AVIOContext, AvIoContextDeleter>;
using SwsContextPtr = std::unique_ptr<SwsContext, SwsContextDeleter>;
using AvDictionaryPtr = std::unique_ptr<AVDictionary, AvDictionaryDeleter>;

}  // namespace framescribe::decoder
