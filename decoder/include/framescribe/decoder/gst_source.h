// A live video source through GStreamer: RTSP (rtspsrc, TCP or UDP, jitter-buffer latency) or
// any URI uridecodebin opens (rtsp, http, file, v4l2), decoded, converted to RGB and scaled in
// GStreamer to the engine's patch grid (plan_output_size), delivered by appsink callbacks.
// It stays up: a lost, failed or stalled stream is reconnected with capped exponential backoff,
// and every outage is reported once, as a gap, when frames come back.
//
//   decoder::GstSourceOptions o;
//   o.url = "rtsp://user:pw@cam1/stream";             // credentials never appear in any log
//   o.sizing.longest_edge_px = 512;
//   decoder::GstLiveSource src(o);                     // starts connecting at once
//   while (auto item = src.next(std::chrono::milliseconds(500))) {   // nullopt: stopped
//     if (item->frame) use(*item->frame);              // pts_ns increases, wall_clock_ns set
//     if (item->gap) log(item->gap->start_wall_ns, item->gap->end_wall_ns);
//   }                                                  // (an empty item: nothing yet, timeout)
//
// Ownership: the source owns its GStreamer pipeline (rebuilt on every reconnect) and a
// supervisor thread. GStreamer's streaming thread never blocks: appsink has max-buffers and
// drop, and the callback pushes into a bounded queue that drops its oldest frame when full
// (counted in stats().frames_dropped). Memory is bounded: the queue, one pipeline.
// Network streams read only the network: in a stream opened from a network URI (http(s), rtsp,
// rtmp, srt, udp, ...), every URI source element GStreamer adds later (an HLS/DASH demuxer's
// segment sources, for example) must read a network URI too; a local one (filesrc for a
// playlist's file:// segment) is refused before it starts, no frame of it is delivered, and
// the connection ends with a reason starting "refused:" (stats().last_error, the gap's reason).
// A local file (a path or file:// URI) is played once, never reconnected (a retry would replay
// it from the start): its end, or an error, ends the source (next() returns nullopt once the
// frames queued are taken; stats().ended). An error before its first frame (not a video) also
// sets stats().failed with the reason in last_error (and next() throws it). By default its frames
// come at the pace of their timestamps, as a camera's would (ffmpeg's -re); with realtime false as
// fast as next() takes them, none dropped (the decoder waits for room in the queue). Threads:
// next() from one thread; stats() and request_stop() from any thread. Errors: a bad option throws
// Error(kInvalidArgument) from the constructor, a missing local file Error(kNotFound)
// (check_live_input); everything at run time on a network stream (connection refused, EOS, decode
// errors, stalls) is a log line, a counter and a retry.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "framescribe/core/frame.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/decoder/output_size.h"

namespace framescribe::decoder {

struct GstSourceOptions {
  std::string url;                 // rtsp://, http(s)://, file://, v4l2://, or a file path
  bool rtsp_tcp = true;            // RTSP transport: interleaved TCP (true) or UDP
  int latency_ms = 200;            // rtspsrc jitter buffer
  OutputSizing sizing;             // the frame size, from the stream's own size
  std::size_t queue_frames = 4;    // frames waiting for next(); the oldest is dropped
  double stall_timeout_s = 5;      // no frame for this long (connected or connecting): retry
  double backoff_initial_s = 0.5;  // first wait before a retry; doubles up to backoff_max_s
  double backoff_max_s = 30;
  bool realtime = true;  // local files: frames at their timestamps' pace (false: as fast as read)
};

void validate(const GstSourceOptions& options);  // throws Error(kInvalidArgument)

struct GstSourceStats {
  std::int64_t frames_received = 0;  // decoded frames that reached the appsink callback
  std::int64_t frames_dropped = 0;   // dropped from the full queue (next() too slow)
  std::int64_t reconnects = 0;       // pipelines started after the first
  std::int64_t gaps = 0;
  bool connected = false;           // frames are flowing
  int width_px = 0, height_px = 0;  // output size (0 before the first frame)
  int source_width_px = 0, source_height_px = 0;
  std::int64_t last_frame_wall_ns = core::kNoTimestamp;
  bool ntp_clock = false;  // wall-clock times come from the sender (RTCP NTP)
  std::string last_error;  // why the last connection ended ("" while none has), credentials removed
  bool ended = false;      // a local file was played to its end (or failed): no more frames
  bool failed = false;     // it ended before its first frame (not a video?): see last_error
};

// A core::LiveFrameSource (core/frame_source.h): LiveJob reads it directly.
class GstLiveSource final : public core::LiveFrameSource {
 public:
  explicit GstLiveSource(GstSourceOptions options);
  ~GstLiveSource();
  GstLiveSource(const GstLiveSource&) = delete;
  GstLiveSource& operator=(const GstLiveSource&) = delete;

  // Waits up to `timeout` for a frame or a gap. An empty item means nothing arrived in time;
  // nullopt means the source was stopped, or a local file ended. A local file that ended
  // before its first frame (not a video) throws Error(kInvalidArgument) naming it and the
  // reason (stats().last_error).
  std::optional<core::LiveItem> next(std::chrono::milliseconds timeout) override;
  void request_stop() override;
  GstSourceStats stats() const;
  const std::string& name() const;  // the URL, credentials removed

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The local file a live URL names (a path, or a file:// URI), or "" for any other URL.
std::string live_local_file(const std::string& url);
// Checks a live URL before anything starts: a local file must exist and be a regular file
// (Error kNotFound / kInvalidArgument naming it); other URLs are not checked here.
void check_live_input(const std::string& url);

// Initialises GStreamer once per process (thread-safe; later calls do nothing).
void ensure_gstreamer();

}  // namespace framescribe::decoder
