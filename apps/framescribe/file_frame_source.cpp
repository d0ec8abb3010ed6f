#include "file_frame_source.h"

#include <cmath>

namespace framescribe::apps {

FileFrameSource::FileFrameSource(const std::string& url, const VideoOptions& v,
                                 core::StopFlag& stop) {
  decoder::SourceOptions so = v.source();
  so.should_stop = [&stop] { return stop.stop_requested(); };
  sampling_ = v.sampling();
  source_ = decoder::FfmpegSource::open(url, so);
  reader_ = std::make_unique<decoder::SampledReader>(*source_, sampling_, v.sizing());
}

std::int64_t FileFrameSource::end_ns() const {
  const std::int64_t d = source_->info().duration_ns;
  if (sampling_.end_ns != core::kNoTimestamp && (d == core::kNoTimestamp || sampling_.end_ns < d))
    return sampling_.end_ns;
  return d;
}

std::int64_t FileFrameSource::interval_ns() const {
  if (sampling_.mode == decoder::SamplingMode::kFixedRate && sampling_.fps > 0)
    return std::llround(1e9 / sampling_.fps);
  const double rate = source_->info().frame_rate;
  if (rate <= 0) return 0;
  if (sampling_.mode == decoder::SamplingMode::kEveryNth)
    return std::llround(1e9 * static_cast<double>(sampling_.every_n) / rate);
  if (sampling_.mode == decoder::SamplingMode::kAll) return std::llround(1e9 / rate);
  return 0;  // keyframes, scenes: irregular
}

}  // namespace framescribe::apps
