// A pipeline::FrameSource over a video file or URL: FFmpeg decoding with the sampling policy
// and output size of VideoOptions (the composition of decoder and pipeline, used by summarize
// and batch).
//
//   FileFrameSource src(url, video_options, stop);    // throws Error if it cannot be opened
//   pipeline::VideoPipeline(...).run(src, info, stop);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/pipeline/interfaces.h"
#include "video_options.h"

namespace framescribe::apps {

class FileFrameSource final : public pipeline::FrameSource {
 public:
  // FFmpeg's blocking reads end when `stop` is raised (its interrupt callback polls it).
  FileFrameSource(const std::string& url, const VideoOptions& options, core::StopFlag& stop);
  std::optional<core::Frame> next() override;
  void request_stop() override { source_->request_stop(); }
  std::int64_t end_ns() const override;
  std::int64_t interval_ns() const override;
  std::string incomplete_reason() const override;
  const decoder::StreamInfo& info() const { return source_->info(); }
  const decoder::SourceStats& stats() const { return source_->stats(); }
  std::string sampling_text() const { return decoder::describe(sampling_); }

 private:
  decoder::SamplingOptions sampling_;
  std::unique_ptr<decoder::FfmpegSource> source_;
  std::unique_ptr<decoder::SampledReader> reader_;
  std::int64_t last_pts_ns_ = core::kNoTimestamp;  // the newest frame given
  bool at_end_ = false;                            // next() gave nullopt
};

}  // namespace framescribe::apps
