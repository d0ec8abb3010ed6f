// From a decoded picture to what the engine sees: one swscale pass from the decoder's buffer to
// RGB8 at the target size (no full-size RGB copy), then the display rotation on the small
// picture. Also the scene-change thumbnails and the SampledReader that ties it together.
#include <cstring>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include <mutex>

#include "ffmpeg_source_impl.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "pixel_format.h"

namespace framescribe::decoder {

namespace {

constexpr int kThumbWidth = 64;
constexpr int kThumbHeight = 36;
// Area averaging: each output pixel is the mean of the input pixels it covers, the
// antialiasing a large downscale needs (no moire from skipped pixels).
constexpr int kScaleFlags = SWS_AREA | SWS_ACCURATE_RND;

// An enum field FFmpeg filled from the bitstream, read as the int it is stored as: a damaged
// stream can put any value there, and loading an out-of-range value as the C++ enum type is
// undefined behaviour (found by the fuzzer: colorspace 144).
template <class E>
int raw_enum(const E& field) {
  static_assert(sizeof(E) == sizeof(int));
  int v = 0;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

// Clockwise rotation of a small RGB picture.
core::Image rotate(const core::Image& in, int deg) {
  const int w = in.width_px(), h = in.height_px(), c = channels_of(in.format());
  const bool swap = deg == 90 || deg == 270;
  core::Image out(swap ? h : w, swap ? w : h, in.format());
  const std::size_t is = in.stride_bytes(), os = out.stride_bytes();
  for (int y = 0; y < out.height_px(); ++y) {
    std::uint8_t* dst = out.data() + os * static_cast<std::size_t>(y);
    for (int x = 0; x < out.width_px(); ++x) {
      int sx = x, sy = y;
      if (deg == 90)
        sx = y, sy = h - 1 - x;
      else if (deg == 180)
        sx = w - 1 - x, sy = h - 1 - y;
      else if (deg == 270)
        sx = w - 1 - y, sy = x;
      std::memcpy(dst + static_cast<std::size_t>(x) * c,
                  in.data() + is * static_cast<std::size_t>(sy) + static_cast<std::size_t>(sx) * c,
                  c);
    }
  }
  return out;
}

}  // namespace

core::Frame FfmpegSource::convert(const DecodedFrame& f, const core::TargetSize& size) {
  Impl& s = *impl_;
  const AVFrame* av = f.av.get();
  FS_CHECK(av && av->width > 0 && av->height > 0, kInvalidArgument, s.name << ": empty frame");
  FS_CHECK(size.width_px > 0 && size.height_px > 0, kInvalidArgument,
           s.name << ": bad target size " << size.width_px << "x" << size.height_px);
  const bool swap = f.rotation_deg == 90 || f.rotation_deg == 270;
  const int ow = swap ? size.height_px : size.width_px;  // before rotation
  const int oh = swap ? size.width_px : size.height_px;
  bool full_range = raw_enum(av->color_range) == AVCOL_RANGE_JPEG;
  AVPixelFormat in_fmt = plain_pixel_format(static_cast<AVPixelFormat>(av->format), &full_range);

  SwsContext* before = s.sws.get();
  SwsContext* ctx = sws_getCachedContext(s.sws.release(), av->width, av->height, in_fmt, ow, oh,
                                         AV_PIX_FMT_RGB24, kScaleFlags, nullptr, nullptr, nullptr);
  s.sws.reset(ctx);
  const char* fmt_name = av_get_pix_fmt_name(in_fmt);
  FS_CHECK(ctx, kUnsupported,
           s.name << ": cannot convert pixel format " << (fmt_name ? fmt_name : "?") << " at "
                  << av->width << "x" << av->height << " to RGB");
  int colorspace = raw_enum(av->colorspace);
  if (colorspace < 0 || colorspace >= AVCOL_SPC_NB) colorspace = AVCOL_SPC_UNSPECIFIED;
  if (ctx != before || colorspace != s.sws_colorspace ||
      static_cast<int>(full_range) != s.sws_full_range) {
    // The YUV matrix and range the stream declares (BT.709 for HD, BT.601 when unspecified),
    // to full-range RGB. Ignored by swscale for RGB inputs.
    sws_setColorspaceDetails(ctx, sws_getCoefficients(colorspace), full_range ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    s.sws_colorspace = colorspace;
    s.sws_full_range = full_range ? 1 : 0;
  }

  core::Image img(ow, oh, core::PixelFormat::kRgb8);
  std::uint8_t* dst[4] = {img.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {static_cast<int>(img.stride_bytes()), 0, 0, 0};
  int rows = sws_scale(ctx, av->data, av->linesize, 0, av->height, dst, dst_stride);
  FS_CHECK(rows > 0, kInternal, s.name << ": swscale produced no output");
  if (f.rotation_deg != 0) img = rotate(img, f.rotation_deg);
  ++s.stats.frames_converted;

  core::Frame out;
  out.image = std::make_shared<const core::Image>(std::move(img));
  out.pts_ns = f.pts_ns;
  out.index = f.index;
  out.source_width_px = f.display_width_px;
  out.source_height_px = f.display_height_px;
  out.keyframe = f.keyframe;
  return out;
}

double FfmpegSource::scene_score(const DecodedFrame& f) {
  Impl& s = *impl_;
  const AVFrame* av = f.av.get();
  if (!av || av->width <= 0 || av->height <= 0) return 0.0;
  bool full_range = false;
  AVPixelFormat in_fmt = plain_pixel_format(static_cast<AVPixelFormat>(av->format), &full_range);
  // Fast bilinear is enough for a 64x36 difference score; it is not what the model sees.
  SwsContext* ctx = sws_getCachedContext(s.thumb_sws.release(), av->width, av->height, in_fmt,
                                         kThumbWidth, kThumbHeight, AV_PIX_FMT_GRAY8,
                                         SWS_FAST_BILINEAR, nullptr, nullptr, nullptr);
  s.thumb_sws.reset(ctx);
  if (!ctx) return 0.0;
  std::vector<std::uint8_t> thumb(kThumbWidth * kThumbHeight);
  std::uint8_t* dst[4] = {thumb.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {kThumbWidth, 0, 0, 0};
  sws_scale(ctx, av->data, av->linesize, 0, av->height, dst, dst_stride);
  double score = 1.0;
  if (s.thumb_prev.size() == thumb.size()) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < thumb.size(); ++i)
      sum += std::abs(int{thumb[i]} - int{s.thumb_prev[i]});
    score = static_cast<double>(sum) / (255.0 * static_cast<double>(thumb.size()));
  }
  s.thumb_prev = std::move(thumb);
  return score;
}

SampledReader::SampledReader(FfmpegSource& source, const SamplingOptions& sampling,
                             const OutputSizing& sizing)
    : source_(source), sampler_(sampling), sizing_(sizing) {}

core::Frame SampledReader::emit(const DecodedFrame& f) {
  return source_.convert(f, plan_output_size(f.display_width_px, f.display_height_px, sizing_));
}

std::optional<core::Frame> SampledReader::next() {
  while (ready_.empty() && !finished_) {
    std::optional<DecodedFrame> f = sampler_.done() ? std::nullopt : source_.next();
    if (!f) {
      if (prev_ && sampler_.finish()) ready_.push_back(emit(*prev_));
      prev_.reset();
      finished_ = true;
      break;
    }
    FrameFacts facts;
    facts.pts_ns = f->pts_ns;
    facts.index = f->index;
    facts.keyframe = f->keyframe;
    facts.duration_ns = f->duration_ns;
    if (sampler_.wants_scene_score()) facts.scene_score = source_.scene_score(*f);
    Verdict v = sampler_.offer(facts);
    if (v.emit_previous && prev_) ready_.push_back(emit(*prev_));
    if (v.emit_current) ready_.push_back(emit(*f));
    const SamplingOptions& o = sampler_.options();
    // The sampler remembers only frames inside the range; so do we.
    if (f->pts_ns >= o.start_ns && (o.end_ns == core::kNoTimestamp || f->pts_ns < o.end_ns)) {
      prev_ = std::move(f);
    }
  }
  if (ready_.empty()) return std::nullopt;
  core::Frame out = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return out;
}

namespace {
void ffmpeg_log_cb(void* avcl, int level, const char* fmt, va_list vl) {
  note_ffmpeg_log(fmt, vl);  // a refused picture size, whatever the level
  if (level > av_log_get_level()) return;
  static thread_local int print_prefix = 1;
  static thread_local std::string pending;
  char line[1024];
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  pending += line;
  if (pending.empty() || pending.back() != '\n') return;
  pending.pop_back();
  core::LogLevel lvl = level <= AV_LOG_ERROR     ? core::LogLevel::kWarn
                       : level <= AV_LOG_WARNING ? core::LogLevel::kInfo
                                                 : core::LogLevel::kDebug;
  core::log(lvl, "ffmpeg: " + redact_urls_in_text(pending));  // FFmpeg may quote a URL
  pending.clear();
}
}  // namespace

void ensure_ffmpeg_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() > AV_LOG_FATAL) av_log_set_level(AV_LOG_FATAL);
    av_log_set_callback(ffmpeg_log_cb);
  });
}

void route_ffmpeg_logs(bool verbose) {
  // FFmpeg's error lines on damaged input are plentiful; our own warnings summarise them, so
  // only a verbose run shows FFmpeg's detail.
  av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_FATAL);
  av_log_set_callback(ffmpeg_log_cb);
}

}  // namespace framescribe::decoder
