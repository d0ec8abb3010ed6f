// The interfaces between the decoder and its users: a source of sampled frames (files, URLs)
// and a live source (streams that stay up, with outages). decoder/ implements them
// (decoder::VideoFrameSource, decoder::GstLiveSource), the pipeline consumes them
// (VideoPipeline::run, LiveJob::run), tests implement fakes; apps/ picks the concrete type.
//
//   std::unique_ptr<core::FrameSource> src = ...;       // decoder::VideoFrameSource
//   while (std::optional<core::Frame> f = src->next()) use(*f);
//   if (std::string why = src->incomplete_reason(); !why.empty()) warn(why);
//
//   core::LiveFrameSource& live = ...;                   // decoder::GstLiveSource
//   while (std::optional<core::LiveItem> item = live.next(std::chrono::milliseconds(200))) {
//     if (item->gap) report(*item->gap);                 // an outage, once, when frames return
//     if (item->frame) use(*item->frame);                // an empty item: nothing in time
//   }                                                    // nullopt: stopped, or the end
//
// Rules: next() is called from one thread at a time; request_stop() from any thread. Frames
// come in increasing pts. A source owns what it decodes; a Frame shares its pixels (frame.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "framescribe/core/frame.h"

namespace framescribe::core {

// Sampled frames in increasing pts.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next sampled frame, or nullopt at the end of the input (or after request_stop()).
  virtual std::optional<Frame> next() = 0;
  // Any thread: makes a blocked next() return soon.
  virtual void request_stop() {}
  // Media time at which the input ends (after the last frame), if known.
  virtual std::int64_t end_ns() const { return kNoTimestamp; }
  // The usual time between two sampled frames (fixed-rate sampling), or 0 if it varies or is
  // unknown. Sizes the in-flight limit when windows are limited in seconds.
  virtual std::int64_t interval_ns() const { return 0; }
  // After next() returned nullopt: why the input ended before its end (a truncated file, a
  // failed read), or empty when it was read to the end or stopped on request. The run is then
  // "partial", or failed when not one frame came.
  virtual std::string incomplete_reason() const { return {}; }
};

// One outage of a live stream: from the wall-clock time of the last frame before it to that of
// the first frame after it (UTC ns, local clock), with the pts of those two frames.
struct StreamGap {
  std::int64_t start_wall_ns = 0;
  std::int64_t end_wall_ns = 0;
  std::int64_t start_pts_ns = 0;
  std::int64_t end_pts_ns = 0;
  std::string reason;  // why the stream was lost: "error: ...", "end of stream", "stall"
};

// What a live source gives: a frame, a gap (reported when frames come back), or both (the
// first frame after an outage), or neither (nothing arrived in time).
struct LiveItem {
  std::optional<Frame> frame;
  std::optional<StreamGap> gap;
};

// A stream that stays up: pts keeps increasing across reconnects.
class LiveFrameSource {
 public:
  virtual ~LiveFrameSource() = default;
  // Waits up to `timeout` for a frame or a gap: an empty item when nothing came; nullopt when
  // the source was stopped or ended (a file played out). A source that cannot play its input
  // at all throws framescribe::Error.
  virtual std::optional<LiveItem> next(std::chrono::milliseconds timeout) = 0;
  // Any thread: ends the stream; next() then returns nullopt.
  virtual void request_stop() {}
};

}  // namespace framescribe::core
