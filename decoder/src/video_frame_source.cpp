#include "framescribe/decoder/video_frame_source.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

namespace framescribe::decoder {

VideoFrameSource::VideoFrameSource(const std::string& url, SourceOptions source,
                                   const SamplingOptions& sampling, const OutputSizing& sizing,
                                   const core::StopFlag* stop)
    : sampling_(sampling) {
  if (stop != nullptr) source.should_stop = [stop] { return stop->stop_requested(); };
  source_ = FfmpegSource::open(url, source);
  reader_ = std::make_unique<SampledReader>(*source_, sampling_, sizing);
}

std::optional<core::Frame> VideoFrameSource::next() {
  std::optional<core::Frame> f = reader_->next();
  if (f) {
    last_pts_ns_ = f->pts_ns;
  } else {
    at_end_ = true;
  }
  return f;
}

std::int64_t VideoFrameSource::end_ns() const {
  const std::int64_t d = source_->info().duration_ns;
  if (at_end_ && stats().ended_early && last_pts_ns_ != core::kNoTimestamp) {
    // A truncated input ends after its last frame, not at the length its header announces: no
    // window or event may reach into the part that is missing.
    const std::int64_t step = std::max<std::int64_t>(interval_ns(), 1);
    const std::int64_t cut = last_pts_ns_ > INT64_MAX - step ? INT64_MAX : last_pts_ns_ + step;
    return d == core::kNoTimestamp ? cut : std::min(cut, d);
  }
  if (sampling_.end_ns != core::kNoTimestamp && (d == core::kNoTimestamp || sampling_.end_ns < d))
    return sampling_.end_ns;
  return d;
}

std::string VideoFrameSource::incomplete_reason() const {
  const SourceStats& s = stats();
  if (!at_end_ || s.stopped) return {};
  if (s.frames_decoded == 0 && s.packets == 0)
    return "no video packet could be read (an mp4 whose index is at its end, read from a source "
           "that cannot seek: serve it with byte ranges, or remux it with ffmpeg -movflags "
           "+faststart)";
  if (s.frames_decoded == 0)
    return std::to_string(s.packets) + " video packets read, none decoded (damaged data?)";
  if (last_pts_ns_ == core::kNoTimestamp)
    return std::to_string(s.frames_decoded) +
           " frames decoded, none in the sampled range (check --start and --end)";
  if (!s.ended_early) return {};
  std::ostringstream why;
  why << "the input ended early";
  if (last_pts_ns_ != core::kNoTimestamp)
    why << " after " << core::ns_to_seconds(last_pts_ns_) << " s";
  if (source_->info().duration_ns != core::kNoTimestamp)
    why << " of the " << core::ns_to_seconds(source_->info().duration_ns) << " s it announces";
  why << (s.read_errors > 0 ? " (a read failed)" : " (truncated or damaged)");
  return why.str();
}

std::int64_t VideoFrameSource::interval_ns() const {
  if (sampling_.mode == SamplingMode::kFixedRate && sampling_.fps > 0)
    return std::llround(1e9 / sampling_.fps);
  const double rate = source_->info().frame_rate;
  if (rate <= 0) return 0;
  if (sampling_.mode == SamplingMode::kEveryNth)
    return std::llround(1e9 * static_cast<double>(sampling_.every_n) / rate);
  if (sampling_.mode == SamplingMode::kAll) return std::llround(1e9 / rate);
  return 0;  // keyframes, scenes: irregular
}

}  // namespace framescribe::decoder
