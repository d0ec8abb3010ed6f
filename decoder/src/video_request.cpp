#include "framescribe/decoder/video_request.h"

#include <algorithm>
#include <cmath>

#include "framescribe/core/error.h"

namespace framescribe::decoder {
namespace {
std::int64_t seconds_to_ns(double s) {
  return std::llround(s * 1e9);
}
}  // namespace

SamplingOptions VideoRequest::sampling() const {
  SamplingOptions s;
  if (fps != 0) {
    s.mode = SamplingMode::kFixedRate;
    s.fps = fps;
  } else if (every != 0) {
    s.mode = SamplingMode::kEveryNth;
    s.every_n = every;
  } else if (keyframes) {
    s.mode = SamplingMode::kKeyframes;
  } else if (scene >= 0) {
    s.mode = SamplingMode::kScene;
    s.scene_threshold = scene;
  }
  FS_CHECK(std::isfinite(start_s) && start_s >= 0, kInvalidArgument,
           "--start must be >= 0 seconds");
  s.start_ns = seconds_to_ns(start_s);
  if (end_s >= 0) s.end_ns = seconds_to_ns(end_s);
  s.scene_min_gap_ns = seconds_to_ns(scene_min_gap_s);
  s.max_gap_ns = seconds_to_ns(max_gap_s);
  s.max_frames = max_frames;
  validate(s);
  return s;
}

OutputSizing VideoRequest::sizing() const {
  FS_CHECK(max_edge_px >= 16 && max_edge_px % 16 == 0, kInvalidArgument,
           "--max-edge must be a positive multiple of 16 (the patch size), got " << max_edge_px);
  OutputSizing z;
  z.longest_edge_px = max_edge_px;
  z.max_frame_tokens = max_frame_tokens;
  FS_CHECK(max_frame_tokens >= 0, kInvalidArgument, "--max-frame-tokens must be positive");
  return z;
}

SourceOptions VideoRequest::source() const {
  SourceOptions s;
  s.decoder_threads = threads;
  s.allow_stdin = true;  // "-": summarize, probe and frames read a stream from standard input
  s.keyframes_only = keyframes;
  s.sample_fps = fps;  // fixed rate: non-reference frames far from every tick are not decoded
  s.start_ns = seconds_to_ns(start_s);
  return s;
}

std::unique_ptr<VideoFrameSource> open_video(const std::string& url, const VideoRequest& video,
                                             const core::StopFlag* stop) {
  return std::make_unique<VideoFrameSource>(url, video.source(), video.sampling(), video.sizing(),
                                            stop);
}

core::RunInfo file_run_info(const std::string& name, const VideoFrameSource& source,
                            const std::string& model_name) {
  core::RunInfo info;
  info.video = name;
  info.duration_ns = source.end_ns();
  info.width_px = source.info().display_width_px;
  info.height_px = source.info().display_height_px;
  info.model = model_name;
  info.sampling = source.sampling_text();
  return info;
}

long long estimate_sampled_frames(const StreamInfo& info, const SamplingOptions& s) {
  if (info.duration_ns <= 0) return -1;
  const double end_s = core::ns_to_seconds(
      s.end_ns == core::kNoTimestamp ? info.duration_ns : std::min(s.end_ns, info.duration_ns));
  const double range_s = std::max(0.0, end_s - core::ns_to_seconds(s.start_ns));
  long long frames = info.frame_rate > 0 ? std::llround(range_s * info.frame_rate) : -1;
  long long n = -1;
  switch (s.mode) {
    case SamplingMode::kAll:
      n = frames;
      break;
    case SamplingMode::kFixedRate:
      n = static_cast<long long>(std::ceil(range_s * s.fps - 1e-9));
      break;
    case SamplingMode::kEveryNth:
      n = frames < 0 ? -1 : (frames + s.every_n - 1) / s.every_n;
      break;
    default:
      return -1;  // keyframes and scenes need a scan
  }
  if (n >= 0 && s.max_gap_ns > 0 && range_s > 0) {
    n = std::max<long long>(
        n, static_cast<long long>(std::ceil(range_s / core::ns_to_seconds(s.max_gap_ns))));
  }
  if (n >= 0 && s.max_frames > 0) n = std::min<long long>(n, s.max_frames);
  return n;
}

long long count_sampled_frames(FfmpegSource& src, const SamplingOptions& s,
                               const std::function<void(double, long long)>& progress) {
  Sampler sampler(s);
  while (!sampler.done()) {
    std::optional<DecodedFrame> f = src.next();
    if (!f) break;
    FrameFacts facts{f->pts_ns, f->index, f->keyframe, -1.0, f->duration_ns};
    if (sampler.wants_scene_score()) facts.scene_score = src.scene_score(*f);
    sampler.offer(facts);
    if (progress) progress(core::ns_to_seconds(f->pts_ns), sampler.emitted());
  }
  sampler.finish();
  return sampler.emitted();
}

void VideoRequest::apply_recommended(double rec_fps, int rec_max_edge_px, bool sampling_given,
                                     bool size_given) {
  if (!sampling_given) {
    fps = rec_fps;
    every = 0;
    keyframes = false;
    scene = -1;
  }
  if (!size_given) {
    max_edge_px = rec_max_edge_px;
    max_frame_tokens = 0;
  }
}

}  // namespace framescribe::decoder
