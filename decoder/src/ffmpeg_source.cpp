// The decode loop (opening an input is in ffmpeg_open.cpp). It follows FFmpeg's
// doc/examples/demux_decode.c: receive until EAGAIN, then send one packet; EAGAIN and EOF are
// not errors; every packet is unreferenced; the decoder is drained with a null packet at the end
// of the input.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <vector>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "ffmpeg_source_impl.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::decoder {

namespace {

// Damaged input can make a decoder fail on every call; after this many failures in a row
// without a frame, the rest of the input is given up on (with a warning), so no input hangs us.
constexpr int kMaxConsecutiveErrors = 1000;
// Skipped packets remembered at most (a decoder holds far fewer packets than this in flight).
constexpr std::size_t kMaxSkippedPts = 1024;

}  // namespace

namespace {
thread_local RefusedPictureSize* t_refused_size = nullptr;
}

PictureSizeCapture::PictureSizeCapture(RefusedPictureSize* into) {
  ensure_ffmpeg_log_callback();
  t_refused_size = into;
}
PictureSizeCapture::~PictureSizeCapture() {
  t_refused_size = nullptr;
}

void note_ffmpeg_log(const char* fmt, va_list args) {
  // libavutil/imgutils.c av_image_check_size2: "Picture size %ux%u exceeds specified max pixel
  // count ..." (and "... is invalid" for impossible sizes): the size comes first in both.
  static constexpr char kRefused[] = "Picture size %ux%u ";
  if (t_refused_size == nullptr || t_refused_size->width != 0 || fmt == nullptr ||
      std::strncmp(fmt, kRefused, sizeof kRefused - 1) != 0)
    return;
  va_list copy;
  va_copy(copy, args);
  t_refused_size->width = va_arg(copy, unsigned);
  t_refused_size->height = va_arg(copy, unsigned);
  va_end(copy);
}

std::string av_error_string(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(errnum, buf, sizeof buf);
  return buf;
}

int rotation_from_matrix(const std::uint8_t* matrix, std::size_t size_bytes) {
  if (!matrix || size_bytes < 9 * sizeof(std::int32_t)) return -1;
  std::int32_t m[9];
  std::memcpy(m, matrix, sizeof m);  // side data need not be aligned
  // av_display_rotation_get is counter-clockwise; displays rotate clockwise by its negation.
  double ccw = av_display_rotation_get(m);
  if (!std::isfinite(ccw)) return -1;
  long quarter = std::lround(-ccw / 90.0);
  int deg = static_cast<int>(((quarter % 4) + 4) % 4) * 90;
  return deg;
}

void display_size(int w, int h, AVRational sar, int rotation_deg, int* out_w, int* out_h) {
  double ratio = (sar.num > 0 && sar.den > 0) ? av_q2d(sar) : 1.0;
  // Absurd ratios come only from broken headers; ignoring them beats a 16000-pixel-wide frame.
  if (!(ratio >= 1.0 / 16 && ratio <= 16)) ratio = 1.0;
  double dw = w, dh = h;
  if (ratio > 1.0) dw = w * ratio;
  if (ratio < 1.0) dh = h / ratio;
  int iw = std::max(1, static_cast<int>(std::lround(dw)));
  int ih = std::max(1, static_cast<int>(std::lround(dh)));
  if (rotation_deg == 90 || rotation_deg == 270) std::swap(iw, ih);
  *out_w = iw;
  *out_h = ih;
}

void DecodedFrame::AvFrameFree::operator()(AVFrame* f) const noexcept {
  av_frame_free(&f);
}

int MemoryReader::read(std::span<std::uint8_t> buf) {
  std::size_t n = std::min(buf.size(), bytes_.size() - pos_);
  if (n) std::memcpy(buf.data(), bytes_.data() + pos_, n);
  pos_ += n;
  return static_cast<int>(n);
}

std::int64_t MemoryReader::seek(std::int64_t offset) {
  if (offset < 0 || static_cast<std::uint64_t>(offset) > bytes_.size()) return -1;
  pos_ = static_cast<std::size_t>(offset);
  return offset;
}

FfmpegSource::FfmpegSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FfmpegSource::~FfmpegSource() = default;
const StreamInfo& FfmpegSource::info() const {
  return impl_->info;
}
const SourceStats& FfmpegSource::stats() const {
  return impl_->stats;
}
void FfmpegSource::request_stop() {
  impl_->stop.store(true, std::memory_order_relaxed);
}

std::optional<DecodedFrame> FfmpegSource::next() {
  Impl& s = *impl_;
  while (!s.ended) {
    if (s.stop_requested()) {
      s.stats.stopped = true;
      s.ended = true;
      break;
    }
    int ret = avcodec_receive_frame(s.dec.get(), s.frame.get());
    if (ret == 0) {
      s.consecutive_errors = 0;
      if (std::optional<DecodedFrame> f = take_frame()) return f;
      continue;
    }
    if (ret == AVERROR_EOF) {
      s.ended = true;
      break;
    }
    if (ret != AVERROR(EAGAIN)) {
      note_decode_error(ret);
      continue;
    }
    if (s.draining) {  // a decoder that wants input while draining: nothing more will come
      s.ended = true;
      break;
    }
    ret = av_read_frame(s.fmt.get(), s.pkt.get());
    if (ret < 0) {
      if (ret == AVERROR_EXIT || s.stop_requested()) continue;  // reported at the loop top
      if (ret != AVERROR_EOF && ret != AVERROR(EAGAIN)) {
        ++s.stats.read_errors;
        s.stats.ended_early = true;
        FS_LOG_WARN(s.name << ": read error (" << av_error_string(ret)
                           << "); the input ends here, frames decoded so far are kept");
      }
      if (ret == AVERROR(EAGAIN)) continue;
      s.draining = true;
      avcodec_send_packet(s.dec.get(), nullptr);  // drain: the frames still inside come out
      continue;
    }
    if (s.pkt->stream_index != s.stream->index) {
      av_packet_unref(s.pkt.get());
      continue;
    }
    ++s.stats.packets;
    if (s.pkt->flags & AV_PKT_FLAG_CORRUPT) {
      if (++s.stats.corrupt_packets == 1) FS_LOG_WARN(s.name << ": damaged packet(s) in the input");
    }
    if (s.opt.keyframes_only && !(s.pkt->flags & AV_PKT_FLAG_KEY)) {
      ++s.stats.packets_skipped;  // never decoded: what makes keyframe mode cheap
      av_packet_unref(s.pkt.get());
      continue;
    }
    if (s.opt.sample_fps > 0 && s.nominal_frame_ns > 0 && !s.opt.keyframes_only) {
      // Per-packet: decode non-reference frames only near a tick (the decoder reads skip_frame
      // when the packet is submitted, also with frame threads).
      AVDiscard want = AVDISCARD_DEFAULT;
      std::int64_t rel = 0;
      if (s.pkt->pts != AV_NOPTS_VALUE && !__builtin_sub_overflow(s.pkt->pts, s.start_pts, &rel)) {
        const std::int64_t pkt_ns = av_rescale_q(rel, s.time_base, kNsTimeBase);
        if (far_from_tick(pkt_ns)) {
          want = AVDISCARD_NONREF;
          // Remembered so that the hole it may leave is not taken for damage (note_interval).
          if (s.skipped_pts_ns.size() >= kMaxSkippedPts)
            s.skipped_pts_ns.erase(s.skipped_pts_ns.begin());
          s.skipped_pts_ns.push_back(pkt_ns);
        }
      }
      s.dec->skip_frame = want;
    }
    ret = avcodec_send_packet(s.dec.get(), s.pkt.get());
    av_packet_unref(s.pkt.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) note_decode_error(ret);
  }
  finish_stats();
  return std::nullopt;
}

void FfmpegSource::note_decode_error(int ret) {
  Impl& s = *impl_;
  if (++s.stats.decode_errors <= 3) {
    FS_LOG_WARN(s.name << ": cannot decode a packet (" << av_error_string(ret)
                       << "); skipping damaged data");
  }
  if (++s.consecutive_errors >= kMaxConsecutiveErrors) {
    s.stats.ended_early = true;
    s.ended = true;
    FS_LOG_WARN(s.name << ": " << kMaxConsecutiveErrors
                       << " decoding errors in a row; giving up on the rest of the input");
  }
}

void FfmpegSource::finish_stats() {
  Impl& s = *impl_;
  if (s.draining && s.ended && !s.stats.ended_early && !s.stats.stopped) {
    // The container said how long the stream is; a stream that stops well short of that was
    // cut off (a truncated download, a recording that did not finish).
    const bool few_frames =
        s.index_exact && s.info.frame_count > 0 && s.stats.frames_decoded + 1 < s.info.frame_count;
    const bool short_time =
        !s.opt.keyframes_only && s.info.duration_ns > 0 && s.nominal_frame_ns > 0 &&
        s.last_pts_ns != core::kNoTimestamp &&
        static_cast<double>(s.last_pts_ns) + 2.0 * static_cast<double>(s.nominal_frame_ns) <=
            static_cast<double>(s.info.duration_ns);
    if (few_frames || short_time) {
      s.stats.ended_early = true;
      FS_LOG_WARN(
          s.name << ": the video stops at "
                 << (s.last_pts_ns == core::kNoTimestamp ? 0.0 : core::ns_to_seconds(s.last_pts_ns))
                 << " s after " << s.stats.frames_decoded << " frames, but the file announces "
                 << core::ns_to_seconds(s.info.duration_ns) << " s"
                 << (s.info.frame_count > 0 ? " / " + std::to_string(s.info.frame_count) + " frames"
                                            : "")
                 << "; it looks truncated or damaged");
    }
  }
  if (s.stats.frames_damaged > 0 && !s.damage_reported) {
    s.damage_reported = true;
    FS_LOG_WARN(
        s.name
        << ": " << s.stats.frames_damaged
        << " frame(s) decoded with errors (damaged data); their pictures may show artefacts");
  }
  if (s.stats.decode_errors > 3 && !s.draining_reported) {
    s.draining_reported = true;
    FS_LOG_WARN(s.name << ": " << s.stats.decode_errors << " decoding errors in total");
  }
}

bool FfmpegSource::far_from_tick(std::int64_t pts_ns) const {
  // A frame more than two frame intervals from every sampling tick is never the one a tick
  // takes, so the decoder may skip it when no other frame refers to it.
  const Impl& s = *impl_;
  if (s.opt.sample_fps <= 0 || s.nominal_frame_ns <= 0) return false;
  const double t_ns = static_cast<double>(pts_ns) - static_cast<double>(s.opt.start_ns);
  const double period_ns = 1e9 / s.opt.sample_fps;
  const double off = std::abs(t_ns - std::round(t_ns / period_ns) * period_ns);
  return off > 2.0 * static_cast<double>(s.nominal_frame_ns);
}

void FfmpegSource::note_interval(std::int64_t pts_ns) {
  // Demuxers that resync after damage (MPEG-TS) drop whole packets without an error; the only
  // trace is a hole in otherwise regular timestamps. After a long regular run, a jump of more
  // than 1.5 frame intervals is reported (it may also be a genuine frame-rate change, hence
  // the wording and the long run required first).
  Impl& s = *impl_;
  if (s.last_pts_ns == core::kNoTimestamp || s.nominal_frame_ns <= 0 || s.opt.keyframes_only)
    return;
  // In double: timestamps from a damaged stream can be anywhere in int64 (found by the fuzzer).
  const double nominal = static_cast<double>(s.nominal_frame_ns);
  const double step = static_cast<double>(pts_ns) - static_cast<double>(s.last_pts_ns);
  if (step >= 0.9 * nominal && step <= 1.1 * nominal) {
    ++s.regular_run;
    return;
  }
  if (step > 1.5 * nominal) {
    const auto missing =
        static_cast<std::int64_t>(std::min(std::round(step / nominal) - 1.0, 1e15));
    // With --fps sampling the decoder skips non-reference frames far from a tick on purpose
    // (read loop): such a hole is no damage, and the regular run goes on across it, so that a
    // real hole later is still seen. The hole is deliberate when every frame missing from it
    // was a packet sent for skipping; the packets' own times are compared, not times
    // reconstructed from the frame interval (B-frames: the decoder's order and rounding made
    // the arithmetic disagree by a nanosecond and clean x264 files were reported damaged).
    if (s.opt.sample_fps > 0 && !s.skipped_pts_ns.empty()) {
      const double half = 0.5 * nominal;
      std::int64_t skipped = 0;
      for (const std::int64_t t : s.skipped_pts_ns) {
        const double d = static_cast<double>(t);
        if (d > static_cast<double>(s.last_pts_ns) + half && d < static_cast<double>(pts_ns) - half)
          ++skipped;
      }
      if (skipped >= missing) return;
    }
    if (s.regular_run >= 25) {
      s.stats.frames_missing += missing;
      FS_LOG_WARN(s.name << ": timestamps jump from " << core::ns_to_seconds(s.last_pts_ns)
                         << " s to " << core::ns_to_seconds(pts_ns) << " s (about " << missing
                         << " frame(s) missing: damaged input, or a frame-rate change)");
    }
  }
  s.regular_run = 0;
}

std::optional<DecodedFrame> FfmpegSource::take_frame() {
  Impl& s = *impl_;
  AVFrame* av = s.frame.get();
  ++s.stats.frames_decoded;
  const std::int64_t decoded_index = s.stats.frames_decoded - 1;

  std::int64_t duration_ns = s.nominal_frame_ns;
  if (av->pkt_duration > 0) {
    std::int64_t d = av_rescale_q(av->pkt_duration, s.time_base, kNsTimeBase);
    if (d > 0 && d != std::numeric_limits<std::int64_t>::min()) duration_ns = d;
  }
  std::int64_t pts_ns = core::kNoTimestamp;
  std::int64_t ts = av->best_effort_timestamp;
  std::int64_t rel = 0;
  if (ts != AV_NOPTS_VALUE && !__builtin_sub_overflow(ts, s.start_pts, &rel)) {
    pts_ns = av_rescale_q(rel, s.time_base, kNsTimeBase);  // INT64_MIN on overflow
  }
  if (pts_ns == core::kNoTimestamp) {
    // No usable timestamp: one frame after the previous one (or the stream start).
    std::int64_t next = 0;
    if (s.last_pts_ns != core::kNoTimestamp &&
        __builtin_add_overflow(s.last_pts_ns, std::max<std::int64_t>(duration_ns, 1), &next)) {
      next = std::numeric_limits<std::int64_t>::max();
    }
    pts_ns = next;
  }
  if (s.last_pts_ns != core::kNoTimestamp && pts_ns <= s.last_pts_ns) {
    if (++s.stats.frames_dropped == 1) {
      FS_LOG_WARN(s.name << ": a frame at " << core::ns_to_seconds(pts_ns)
                         << " s is not after the previous one; dropping out-of-order frames");
    }
    av_frame_unref(av);
    return std::nullopt;
  }
  if (s.opt.start_ns > 0 && pts_ns < s.opt.start_ns) {
    ++s.stats.frames_dropped;  // decoded only as a reference for what follows the start
    av_frame_unref(av);
    return std::nullopt;
  }
  note_interval(pts_ns);
  s.last_pts_ns = pts_ns;
  // Packets come in decode order, frames in presentation order: a skipped packet's time is kept
  // until a decoded frame has passed it.
  std::erase_if(s.skipped_pts_ns, [pts_ns](std::int64_t t) { return t <= pts_ns; });

  if ((av->flags & AV_FRAME_FLAG_CORRUPT) || av->decode_error_flags != 0) ++s.stats.frames_damaged;
  if (s.info.pixel_format.empty()) {
    // The stream parameters did not say it (an http input probed from fewer bytes): the first
    // decoded picture does.
    if (const AVPixFmtDescriptor* pd =
            av_pix_fmt_desc_get(static_cast<AVPixelFormat>(av->format))) {
      s.info.pixel_format = pd->name;
      s.info.bit_depth = pd->comp[0].depth;
    }
  }

  DecodedFrame out;
  out.av.reset(av_frame_alloc());
  if (!out.av) {
    av_frame_unref(av);
    return std::nullopt;
  }
  av_frame_move_ref(out.av.get(), av);
  out.pts_ns = pts_ns;
  out.duration_ns = duration_ns;
  out.keyframe = out.av->key_frame != 0;
  if (s.index_exact) {
    out.index = decoded_index;
  } else if (s.info.frame_rate > 0) {
    out.index = std::llround(core::ns_to_seconds(pts_ns) * s.info.frame_rate);
  }
  int rotation = s.stream_rotation_deg;
  if (const AVFrameSideData* sd =
          av_frame_get_side_data(out.av.get(), AV_FRAME_DATA_DISPLAYMATRIX)) {
    int r = rotation_from_matrix(sd->data, sd->size);
    if (r >= 0) rotation = r;
  }
  AVRational sar = av_guess_sample_aspect_ratio(s.fmt.get(), s.stream, out.av.get());
  display_size(out.av->width, out.av->height, sar, rotation, &out.display_width_px,
               &out.display_height_px);
  out.rotation_deg = rotation;
  return out;
}

}  // namespace framescribe::decoder
