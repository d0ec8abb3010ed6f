// What a command asks of a video, in the user's units (seconds, pixels, a sampling mode), turned
// into the decoder's option structs; the frame source it opens; and the frame count of a sampling
// plan (estimated from duration and frame rate, or counted by running the sampler).
//
//   decoder::VideoRequest v;                      // filled from options or a job file
//   v.fps = 1;                                    // at most one mode: fps, every, keyframes, scene
//   v.max_edge_px = 512;
//   auto source = decoder::open_video("talk.mp4", v, &stop);       // a VideoFrameSource
//   core::RunInfo info = decoder::file_run_info("talk.mp4", *source, "pixtral-12b");
//   long long n = decoder::estimate_sampled_frames(source->info(), v.sampling());   // -1: scan
//
// Rules: the option names in messages are the command line's (--start, --max-edge), which a job
// file's keys mirror. Thread-safety: plain data and pure functions; a source is used by one
// thread. Errors: Error(kInvalidArgument) for values the decoder refuses; opening throws as
// FfmpegSource::open does.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "framescribe/core/event.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"
#include "framescribe/decoder/video_frame_source.h"

namespace framescribe::decoder {

struct VideoRequest {
  std::string video;  // file, URL or "-" (commands with one positional VIDEO)
  double fps = 0;     // > 0: fixed rate
  long long every = 0;
  bool keyframes = false;
  double scene = -1;  // >= 0: scene threshold
  double scene_min_gap_s = 0;
  double max_gap_s = 0;
  double start_s = 0;
  double end_s = -1;  // < 0: to the end
  long long max_frames = 0;
  int max_edge_px = 1024;
  int max_frame_tokens = 0;
  int threads = 0;  // decoder threads (0: one per core)

  SamplingOptions sampling() const;  // throws Error(kInvalidArgument)
  OutputSizing sizing() const;       // throws Error(kInvalidArgument)
  SourceOptions source() const;      // standard input allowed ("-")
  // A model's recommendation for what the user did not give: unless `sampling_given`, fps
  // becomes `fps` and every, keyframes and scene are off; unless `size_given`, max_edge_px
  // becomes `max_edge_px` and max_frame_tokens is off.
  void apply_recommended(double fps, int max_edge_px, bool sampling_given, bool size_given);
};

// A video file or URL as the pipeline's frame source, sampled and sized as `video` says (its
// blocking reads end when `stop` is raised). Throws Error when it cannot be opened,
// Error(kInvalidArgument) for options the decoder refuses.
std::unique_ptr<VideoFrameSource> open_video(const std::string& url, const VideoRequest& video,
                                             const core::StopFlag* stop);

// The run facts of a video for the sinks' headers: its shown name, duration, size as displayed,
// sampling and the model's name (started_at is left to the caller).
core::RunInfo file_run_info(const std::string& name, const VideoFrameSource& source,
                            const std::string& model_name);

// Frames the sampler would pick, by arithmetic from duration and frame rate (no decoding); -1
// when that cannot be known without a scan (keyframes, scenes, no duration or frame rate).
long long estimate_sampled_frames(const StreamInfo& info, const SamplingOptions& sampling);

// Frames the sampler picks, by running it over the decoded stream without converting anything;
// `progress(media_s, sampled)` after each decoded frame (may be empty).
long long count_sampled_frames(FfmpegSource& source, const SamplingOptions& sampling,
                               const std::function<void(double, long long)>& progress);

}  // namespace framescribe::decoder
