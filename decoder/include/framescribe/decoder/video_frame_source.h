// A video file or URL as a core::FrameSource: FFmpeg decoding (FfmpegSource) with a sampling
// policy (Sampler) and an output size (OutputSizing), through a SampledReader. What `summarize`
// and `batch` hand to pipeline::VideoPipeline::run.
//
//   decoder::SourceOptions so;  decoder::SamplingOptions sampling;  decoder::OutputSizing sizing;
//   sampling.mode = decoder::SamplingMode::kFixedRate;  sampling.fps = 1;
//   decoder::VideoFrameSource src("talk.mp4", so, sampling, sizing, &stop);  // throws Error
//   pipeline::VideoPipeline(engine, sinks, options).run(src, info, stop);
//   src.sampling_text();                                 // "1 fps"
//
// Rules: the options are the decoder's own structs (apps/ only turns command-line options into
// them). `stop`, when given, is polled by FFmpeg's interrupt callback, so a blocking network
// read ends when it is raised. end_ns() of a truncated input is after its last frame, not the
// length its header announces. incomplete_reason() says why the input ended early (nothing
// when it was read to the end or stopped).
// Threads: next() from one thread; request_stop() from any. Ownership: owns its FfmpegSource.
// Errors: the constructor throws Error as FfmpegSource::open and validate(SamplingOptions) do;
// damage while reading is counted in stats(), never thrown.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "framescribe/core/frame_source.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"

namespace framescribe::decoder {

class VideoFrameSource final : public core::FrameSource {
 public:
  // `stop` (may be null) must outlive the source.
  VideoFrameSource(const std::string& url, SourceOptions source, const SamplingOptions& sampling,
                   const OutputSizing& sizing, const core::StopFlag* stop = nullptr);
  std::optional<core::Frame> next() override;
  void request_stop() override { source_->request_stop(); }
  std::int64_t end_ns() const override;
  std::int64_t interval_ns() const override;
  std::string incomplete_reason() const override;

  const StreamInfo& info() const { return source_->info(); }
  const SourceStats& stats() const { return source_->stats(); }
  std::string sampling_text() const { return describe(sampling_); }

 private:
  SamplingOptions sampling_;
  std::unique_ptr<FfmpegSource> source_;
  std::unique_ptr<SampledReader> reader_;
  std::int64_t last_pts_ns_ = core::kNoTimestamp;  // the newest frame given
  bool at_end_ = false;                            // next() gave nullopt
};

}  // namespace framescribe::decoder
