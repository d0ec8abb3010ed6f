// The FFmpeg video source: a file, a URL FFmpeg reads (http, https, rtsp, ...) or bytes from a
// caller's reader, decoded frame by frame with exact timestamps, and sampled frames converted
// straight to the engine's size.
//
//   decoder::SourceOptions opt;
//   opt.keyframes_only = true;                     // demux skips the rest: far cheaper
//   auto src = decoder::FfmpegSource::open("clip.mp4", opt);     // throws Error on failure
//   const decoder::StreamInfo& info = src->info();  // codec, size, rotation, duration, fps
//   while (std::optional<decoder::DecodedFrame> f = src->next()) {
//     core::TargetSize ts = decoder::plan_output_size(f->display_width_px, f->display_height_px,
//     {}); core::Frame frame = src->convert(*f, ts);    // one swscale pass + rotation, RGB8
//   }
//   src->stats();                                   // corrupt packets, decode errors, ...
//
// Or let a SampledReader drive source and Sampler together:
//   decoder::SampledReader reader(*src, sampling_options, decoder::OutputSizing{});
//   while (std::optional<core::Frame> f = reader.next()) ...
//
// Timestamps: pts_ns is the frame's best-effort timestamp (pts, else dts-based guesses, else
// the previous one plus a frame duration) minus the stream's start time, converted from the
// stream time base to nanoseconds with exact rational rescaling; variable frame rate is
// preserved. Timestamps handed out are strictly increasing: a frame that would go back in time
// is dropped and counted.
//
// Inputs: open(url) first runs decoder::check_video_input (video_input.h): local paths, file://
// and http(s) URLs only; FFmpeg's protocols are restricted to what that kind needs (also for
// redirects and nested reads), demuxers that open other inputs are refused (SourceOptions::
// allow_nested_inputs), and every message and StreamInfo::url name the input with its
// credentials redacted (core::redact_source).
//
// Errors: open() throws framescribe::Error (the message names the input and suggests a fix).
// After that, damage is an expected outcome: next() skips corrupt packets and undecodable
// frames, counts them in stats() and logs a warning; a truncated input simply ends early (with
// a warning when fewer frames came than the container announced).
//
// Ownership and threading: the source owns every FFmpeg handle; a source is driven by one
// thread (FFmpeg decodes with its own worker threads inside). request_stop() may be called
// from any thread: it makes a blocking network read return (FFmpeg's interrupt callback) and
// next() then returns nullopt. DecodedFrame references a decoded picture (no copy) and may
// outlive the next() call; a core::Frame from convert() owns its pixels.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "framescribe/core/frame.h"
#include "framescribe/core/patch_grid.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"

struct AVFrame;

namespace framescribe::decoder {

// A caller-provided byte stream (memory, a pipe, a fuzzer's input), read through a custom
// AVIOContext. Called only from the thread driving the source.
class ByteReader {
 public:
  virtual ~ByteReader() = default;
  // Copies up to buf.size() bytes; returns the count, 0 at end of data, < 0 on error.
  virtual int read(std::span<std::uint8_t> buf) = 0;
  // Moves to `offset` (from the start); returns the new position or < 0 if not seekable.
  virtual std::int64_t seek(std::int64_t /*offset*/) { return -1; }
  // Total size in bytes, or < 0 if unknown.
  virtual std::int64_t size() const { return -1; }
};

// A ByteReader over bytes the caller keeps alive while the source exists.
class MemoryReader final : public ByteReader {
 public:
  explicit MemoryReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  int read(std::span<std::uint8_t> buf) override;
  std::int64_t seek(std::int64_t offset) override;
  std::int64_t size() const override { return static_cast<std::int64_t>(bytes_.size()); }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

struct SourceOptions {
  int decoder_threads = 0;      // 0: FFmpeg picks (one per core)
  bool keyframes_only = false;  // skip non-key packets before decoding
  // Pictures larger than this (width * height) are refused: at open, with an error naming
  // the size, and by the decoder for a later resolution change (untrusted input: a 140 KB PNG
  // can announce 12000x12000). The still-image limit. <= 0: no limit.
  std::int64_t max_pixels = kDefaultMaxPixels;
  static constexpr std::int64_t kDefaultMaxPixels = 8192ll * 8192;
  // Demuxers that open other inputs named inside the file (decoder/video_input.h
  // nested_input_format: HLS, DASH, concat lists, ...) are refused unless this is set, except
  // HLS and DASH playlists from http(s) URLs (whose nested reads stay on http(s)). A forced
  // format_name counts as asking for it.
  bool allow_nested_inputs = false;
  // "-" reads the video from standard input (a stream format: MPEG-TS, Matroska, an mp4 with
  // its index first); refused unless set (decoder/video_input.h).
  bool allow_stdin = false;
  // > 0: fixed-rate sampling at this rate is planned, so frames no other frame depends on
  // (non-reference B-frames) further than two frame intervals from every tick are not decoded.
  // Frame indices are then estimated from timestamps. Safe while the real frame interval stays
  // under four times the nominal one.
  double sample_fps = 0;
  std::int64_t start_ns = 0;        // > 0: seek to the keyframe at or before, drop earlier frames
  int network_timeout_ms = 15'000;  // URLs: a read or connect stalled this long fails
  // https URLs: the server's certificate is verified (FFmpeg's own default is not to) against
  // the system's trust store, or against `tls_ca_file` (PEM) when it is set. A video fetched
  // from an unverified server is whatever the network path chose to send.
  bool tls_verify = true;
  std::string tls_ca_file;
  std::map<std::string, std::string> format_options;  // passed to avformat_open_input
  std::string format_name;  // force a demuxer ("mp4", "matroska", ...); empty: probe
  // Extra stop condition polled by FFmpeg's interrupt callback (any thread may flip it).
  std::function<bool()> should_stop;
};

struct StreamInfo {
  std::string url;           // as opened, credentials redacted (custom readers: their name)
  std::string container;     // demuxer long name, e.g. "QuickTime / MOV"
  std::string codec;         // e.g. "h264"
  std::string codec_long;    // e.g. "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10"
  std::string pixel_format;  // e.g. "yuv420p10le" (may be empty before the first frame)
  int bit_depth = 0;
  int coded_width_px = 0;  // as stored
  int coded_height_px = 0;
  int sar_num = 1, sar_den = 1;  // sample aspect ratio (1:1 when unknown)
  int rotation_deg = 0;          // clockwise rotation applied for display: 0, 90, 180, 270
  int display_width_px = 0;      // after SAR and rotation
  int display_height_px = 0;
  double frame_rate = 0;  // average frames per second (0 if unknown)
  std::int64_t duration_ns = core::kNoTimestamp;
  std::int64_t frame_count = 0;  // as announced by the container (0 if unknown)
  std::int64_t bit_rate = 0;
  bool has_audio = false;
  int stream_index = -1;
};

struct SourceStats {
  std::int64_t packets = 0;          // video packets read
  std::int64_t packets_skipped = 0;  // non-key packets skipped in keyframes mode
  std::int64_t corrupt_packets = 0;  // flagged corrupt by the demuxer
  std::int64_t decode_errors = 0;    // packets or frames the decoder rejected
  std::int64_t read_errors = 0;      // the demuxer failed (other than end of file)
  std::int64_t frames_decoded = 0;
  std::int64_t frames_missing = 0;  // estimated from holes in regular timestamps
  std::int64_t frames_damaged = 0;  // decoded with concealed errors (flagged by the decoder)
  std::int64_t frames_dropped = 0;  // before the start, or not increasing in time
  std::int64_t frames_converted = 0;
  bool stopped = false;      // ended by request_stop() or should_stop
  bool ended_early = false;  // fewer frames than announced, or a read error
};

// One decoded picture with its timing; references FFmpeg's buffer (no copy).
struct DecodedFrame {
  struct AvFrameFree {
    void operator()(AVFrame* f) const noexcept;
  };
  std::unique_ptr<AVFrame, AvFrameFree> av;
  std::int64_t pts_ns = 0;
  std::int64_t duration_ns = 0;  // 0 if unknown
  std::int64_t index = -1;       // frame number (estimated from pts after a seek/keyframes)
  bool keyframe = false;
  int rotation_deg = 0;      // clockwise, applied by convert()
  int display_width_px = 0;  // after SAR and rotation, this frame's own size
  int display_height_px = 0;
};

class FfmpegSource {
 public:
  // Opens a path or URL. Throws Error: kNotFound (no such file), kUnsupported (a refused
  // input kind or nested-input format, a picture over max_pixels, not a video FFmpeg can read,
  // no video stream, no decoder), kIo (network), kCancelled (stopped).
  static std::unique_ptr<FfmpegSource> open(const std::string& url,
                                            const SourceOptions& options = {});
  // Reads from `reader`; `name` stands for the input in messages.
  static std::unique_ptr<FfmpegSource> open(std::unique_ptr<ByteReader> reader,
                                            const std::string& name,
                                            const SourceOptions& options = {});
  ~FfmpegSource();
  FfmpegSource(const FfmpegSource&) = delete;
  FfmpegSource& operator=(const FfmpegSource&) = delete;

  const StreamInfo& info() const;
  const SourceStats& stats() const;

  // The next decoded frame in presentation order, or nullopt at the end (end of input, stop,
  // or an unrecoverable read error; stats() tells which). Never throws for damaged input.
  std::optional<DecodedFrame> next();

  // Converts to RGB8 at `size` (its width/height are the displayed orientation) in one
  // swscale pass with an antialiasing (area-averaging) filter, then applies the rotation to
  // the small picture. Throws Error(kInternal) only if swscale cannot be set up.
  core::Frame convert(const DecodedFrame& frame, const core::TargetSize& size);

  // Mean absolute luma difference, in [0, 1], between this frame and the previous frame given
  // to scene_score (1.0 for the first); computed on a 64x36 grey thumbnail.
  double scene_score(const DecodedFrame& frame);

  // Thread-safe: ends blocking reads and makes next() return nullopt.
  void request_stop();

  struct Impl;

 private:
  explicit FfmpegSource(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> open_impl(std::unique_ptr<Impl> impl);
  std::optional<DecodedFrame> take_frame();
  void note_interval(std::int64_t pts_ns);
  bool far_from_tick(std::int64_t pts_ns) const;
  void note_decode_error(int ret);
  void finish_stats();

  std::unique_ptr<Impl> impl_;
};

// Source + Sampler: yields only sampled frames, converted; unsampled frames are never
// converted. Keeps one decoded frame of lookahead for fixed-rate sampling and the gap guarantee.
class SampledReader {
 public:
  // `source` must outlive the reader. The sampler's start also drives the source's seek only
  // if the source was opened with the same start (SourceOptions::start_ns).
  SampledReader(FfmpegSource& source, const SamplingOptions& sampling, const OutputSizing& sizing);
  std::optional<core::Frame> next();
  const Sampler& sampler() const { return sampler_; }

 private:
  core::Frame emit(const DecodedFrame& f);

  FfmpegSource& source_;
  Sampler sampler_;
  OutputSizing sizing_;
  std::optional<DecodedFrame> prev_;
  std::vector<core::Frame> ready_;  // emitted but not yet returned (at most two)
  bool finished_ = false;
};

// Sends FFmpeg's own log lines (warnings and errors by default) to core::log. Global: call
// once from main or a test's setup.
void route_ffmpeg_logs(bool verbose = false);

}  // namespace framescribe::decoder
