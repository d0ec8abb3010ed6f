#include "video_options.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "framescribe/core/error.h"

namespace framescribe::apps {

namespace {
std::int64_t seconds_to_ns(double s) {
  return std::llround(s * 1e9);
}
double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

const char* const kSamplingHelp =
    "Sampling (pick at most one; default: every frame):\n"
    "  --fps F         the frame nearest each tick t = start + k/F (no drift over long videos)\n"
    "  --every N       every Nth frame from the start\n"
    "  --keyframes     keyframes only; the others are never decoded, so this is the fastest\n"
    "  --scene T       the first frame, then frames differing from the previous one by >= T\n"
    "                  (mean absolute luma difference on a small thumbnail, 0..1; 0.3 is a cut)\n"
    "Any mode combines with --start/--end (seeks), --max-frames, and --max-gap S, which\n"
    "guarantees no two consecutive samples are further apart than S seconds.\n"
    "Size: each frame is resized once, straight from the decoded picture, to Pixtral's patch grid\n"
    "(multiples of 16 px, longest edge <= --max-edge), after rotation and aspect ratio are "
    "applied;\n"
    "--max-frame-tokens N instead picks the largest edge whose frame costs <= N tokens.";

void add_video_options(CLI::App* cmd, VideoOptions* o, bool positional) {
  if (positional)
    cmd->add_option("VIDEO", o->video, "Video file or URL (http, https, rtsp, ...)")->required();
  auto* fps = cmd->add_option("--fps", o->fps, "Sample at F frames per second (fixed rate)");
  auto* every = cmd->add_option("--every", o->every, "Sample every Nth frame");
  auto* key = cmd->add_flag("--keyframes", o->keyframes, "Sample keyframes only (fast)");
  auto* scene =
      cmd->add_option("--scene", o->scene, "Sample on scene changes with threshold T in [0, 1]");
  fps->excludes(every, key, scene);
  every->excludes(key, scene);
  key->excludes(scene);
  cmd->add_option("--scene-min-gap", o->scene_min_gap_s,
                  "With --scene: seconds between scene samples at least");
  cmd->add_option("--max-gap", o->max_gap_s, "Never leave more than S seconds between samples");
  cmd->add_option("--start", o->start_s, "Start at S seconds (seeks)");
  cmd->add_option("--end", o->end_s, "Stop at S seconds (exclusive)");
  cmd->add_option("--max-frames", o->max_frames, "Stop after N sampled frames");
  auto* edge =
      cmd->add_option("--max-edge", o->max_edge_px, "Longest edge in pixels, a multiple of 16")
          ->capture_default_str();
  auto* tok = cmd->add_option("--max-frame-tokens", o->max_frame_tokens,
                              "Token budget per frame (picks the size)");
  edge->excludes(tok);
  cmd->add_option("--threads", o->threads, "Decoder threads (0: one per core)");
}

decoder::SamplingOptions VideoOptions::sampling() const {
  decoder::SamplingOptions s;
  if (fps != 0) {
    s.mode = decoder::SamplingMode::kFixedRate;
    s.fps = fps;
  } else if (every != 0) {
    s.mode = decoder::SamplingMode::kEveryNth;
    s.every_n = every;
  } else if (keyframes) {
    s.mode = decoder::SamplingMode::kKeyframes;
  } else if (scene >= 0) {
    s.mode = decoder::SamplingMode::kScene;
    s.scene_threshold = scene;
  }
  FS_CHECK(std::isfinite(start_s) && start_s >= 0, kInvalidArgument,
           "--start must be >= 0 seconds");
  s.start_ns = seconds_to_ns(start_s);
  if (end_s >= 0) s.end_ns = seconds_to_ns(end_s);
  s.scene_min_gap_ns = seconds_to_ns(scene_min_gap_s);
  s.max_gap_ns = seconds_to_ns(max_gap_s);
  s.max_frames = max_frames;
  decoder::validate(s);
  return s;
}

decoder::OutputSizing VideoOptions::sizing() const {
  FS_CHECK(max_edge_px >= 16 && max_edge_px % 16 == 0, kInvalidArgument,
           "--max-edge must be a positive multiple of 16 (the patch size), got " << max_edge_px);
  decoder::OutputSizing z;
  z.longest_edge_px = max_edge_px;
  z.max_frame_tokens = max_frame_tokens;
  FS_CHECK(max_frame_tokens >= 0, kInvalidArgument, "--max-frame-tokens must be positive");
  return z;
}

decoder::SourceOptions VideoOptions::source() const {
  decoder::SourceOptions s;
  s.decoder_threads = threads;
  s.keyframes_only = keyframes;
  s.sample_fps = fps;  // fixed rate: non-reference frames far from every tick are not decoded
  s.start_ns = seconds_to_ns(start_s);
  return s;
}

Progress::Progress(std::string what, bool enabled)
    : what_(std::move(what)), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}

void Progress::update(double at_s, double total_s, long long sampled) {
  if (!enabled_) return;
  double t = now_s();
  if (last_print_ >= 0 && t - last_print_ < (tty_ ? 0.5 : 5.0)) return;
  if (last_print_ < 0) {
    last_print_ = t;  // nothing for the first moment: short runs stay quiet
    return;
  }
  last_print_ = t;
  if (total_s > 0) {
    std::fprintf(stderr, "%s%s: %.1f / %.1f s (%.0f%%), %lld frames%s", tty_ ? "\r" : "",
                 what_.c_str(), at_s, total_s, 100.0 * std::min(1.0, at_s / total_s), sampled,
                 tty_ ? "   " : "\n");
  } else {
    std::fprintf(stderr, "%s%s: %.1f s, %lld frames%s", tty_ ? "\r" : "", what_.c_str(), at_s,
                 sampled, tty_ ? "   " : "\n");
  }
  printed_ = true;
}

void Progress::done() {
  if (printed_ && tty_) std::fprintf(stderr, "\n");
}

}  // namespace framescribe::apps
