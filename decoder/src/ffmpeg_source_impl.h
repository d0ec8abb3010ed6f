// The FfmpegSource's state, shared by its source files (not installed).
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/decoder/av_ptr.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/video_input.h"

namespace framescribe::decoder {

// Nanoseconds as an FFmpeg time base (every pts leaves the decoder in ns).
inline constexpr AVRational kNsTimeBase{1, 1'000'000'000};

// An AVIOContext opened with avio_open2 (closed with avio_closep, which also frees its buffer).
struct AvIoOpenedDeleter {
  void operator()(AVIOContext* io) const noexcept { avio_closep(&io); }
};
using AvIoOpenedPtr = std::unique_ptr<AVIOContext, AvIoOpenedDeleter>;

struct FfmpegSource::Impl {
  std::string name;  // the input as named in messages: credentials redacted (core::redact_source)
  VideoInput input;  // paths and URLs (not custom readers): what check_video_input made of it
  SourceOptions opt;
  std::atomic<bool> stop{false};

  // Declared before fmt so they are destroyed after it: the format context reads through io.
  std::unique_ptr<ByteReader> reader;
  AvIoContextPtr io;       // custom readers
  AvIoOpenedPtr owned_io;  // paths and URLs: opened here, probed, then handed to the demuxer
  AvFormatInputPtr fmt;
  AvCodecContextPtr dec;
  AvPacketPtr pkt;
  AvFramePtr frame;

  AVStream* stream = nullptr;
  AVRational time_base{1, 1};
  std::int64_t start_pts = 0;  // stream time base
  std::int64_t nominal_frame_ns = 0;
  int stream_rotation_deg = 0;

  std::int64_t last_pts_ns = core::kNoTimestamp;
  bool index_exact = true;  // false after a seek or when skipping non-key packets
  bool draining = false;
  bool ended = false;
  int consecutive_errors = 0;
  bool draining_reported = false;
  bool damage_reported = false;
  std::int64_t regular_run = 0;  // consecutive frames one nominal interval apart
  // Media times (ns) of the packets sent with skip_frame = AVDISCARD_NONREF that no decoded
  // frame has passed yet: a timestamp hole made only of these is the decoder skipping frames
  // on purpose, not damage (bounded: pruned as frames pass, at most kMaxSkippedPts).
  std::vector<std::int64_t> skipped_pts_ns;

  SwsContextPtr sws;  // RGB conversion, reused while the input format holds
  int sws_colorspace = -1;
  int sws_full_range = -1;
  SwsContextPtr thumb_sws;  // scene thumbnails
  std::vector<std::uint8_t> thumb_prev;

  StreamInfo info;
  SourceStats stats;

  bool stop_requested() const {
    return stop.load(std::memory_order_relaxed) || (opt.should_stop && opt.should_stop());
  }
};

// Clockwise degrees (0, 90, 180, 270) from a display matrix, or -1 when there is none.
int rotation_from_matrix(const std::uint8_t* matrix, std::size_t size_bytes);
// A frame's displayed size: sample aspect ratio applied (stretching, never shrinking), then the
// rotation (90 and 270 swap the sides).
void display_size(int width_px, int height_px, AVRational sar, int rotation_deg, int* out_w,
                  int* out_h);
// FFmpeg's message for an error code.
std::string av_error_string(int errnum);

// A picture size FFmpeg refused for exceeding max_pixels. FFmpeg says the size only in a log
// line ("Picture size WxH exceeds ..."), so while a PictureSizeCapture lives, the log callback
// (frame_convert.cpp) records that line's numbers for this thread: find_stream_info decodes on
// the calling thread, which is when a giant first picture is met.
struct RefusedPictureSize {
  unsigned width = 0, height = 0;
};
class PictureSizeCapture {
 public:
  explicit PictureSizeCapture(RefusedPictureSize* into);
  ~PictureSizeCapture();
  PictureSizeCapture(const PictureSizeCapture&) = delete;
  PictureSizeCapture& operator=(const PictureSizeCapture&) = delete;
};
// Called by the log callback with every line's format and arguments.
void note_ffmpeg_log(const char* fmt, va_list args);
// Installs framescribe's FFmpeg log callback if route_ffmpeg_logs has not (frame_convert.cpp).
void ensure_ffmpeg_log_callback();

}  // namespace framescribe::decoder
