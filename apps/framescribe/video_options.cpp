#include "video_options.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "framescribe/core/error.h"
#include "framescribe/core/media_time.h"

namespace framescribe::apps {

const char* const kSamplingHelp =
    "Sampling (pick at most one; default: the model folder's framescribe.json fps, else --fps 1):\n"
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

CLI::Validator media_time_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const std::optional<double> s = core::parse_media_time(value);
        if (!s) {
          return "'" + value +
                 "' is not a time: give seconds (90, 90.5) or [HH:]MM:SS[.ms] (1:30, 01:02:03.250)";
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.9f", *s);
        value = buf;
        return std::string();
      },
      "TIME", "media time");
}

CLI::Validator max_edge_validator(int patch_px, int max_px) {
  return CLI::Validator(
      [patch_px, max_px](std::string& value) -> std::string {
        long long v = 0;
        if (!CLI::detail::lexical_cast(value, v))
          return "takes a whole number of pixels, got '" + value + "'";
        if (v >= patch_px && v <= max_px && v % patch_px == 0) return std::string();
        return decoder::max_edge_message("", v, patch_px,
                                         max_px);  // CLI11 puts "--max-edge: " first
      },
      "PX", "max edge");
}

CLI::Validator number_range(double lo, double hi, bool lo_open) {
  return CLI::Validator(
      [lo, hi, lo_open](std::string& value) -> std::string {
        double v = 0;
        const bool ok = CLI::detail::lexical_cast(value, v) && std::isfinite(v) &&
                        (lo_open ? v > lo : v >= lo) && v <= hi;
        if (ok) return std::string();
        // Whole bounds print whole (1048576, not 1.04858e+06).
        const auto num = [](double x) {
          std::ostringstream o;
          if (x == std::floor(x) && std::fabs(x) < 1e15)
            o << static_cast<long long>(x);
          else
            o << x;
          return o.str();
        };
        return "must be " + std::string(lo_open ? "> " : ">= ") + num(lo) + " and <= " + num(hi) +
               ", got " + value;
      },
      "", "range");
}

void add_video_options(CLI::App* cmd, VideoOptions* o, bool positional, bool threads_alias) {
  if (positional)
    cmd->add_option("VIDEO", o->video,
                    "Video file, file:// or http(s):// URL, or - for standard input")
        ->required();
  auto* fps = cmd->add_option("--fps", o->fps, "Sample at F frames per second (fixed rate)")
                  ->check(number_range(0, 1000, /*lo_open=*/true));
  auto* every = cmd->add_option("--every", o->every, "Sample every Nth frame")
                    ->check(number_range(1, 1'000'000));
  auto* key = cmd->add_flag("--keyframes", o->keyframes, "Sample keyframes only (fast)");
  auto* scene =
      cmd->add_option("--scene", o->scene, "Sample on scene changes with threshold T in (0, 1]")
          ->check(number_range(0, 1, /*lo_open=*/true));
  fps->excludes(every, key, scene);
  every->excludes(key, scene);
  key->excludes(scene);
  cmd->add_option("--scene-min-gap", o->scene_min_gap_s,
                  "With --scene: seconds between scene samples at least")
      ->check(number_range(0, 1e6));
  cmd->add_option("--max-gap", o->max_gap_s, "Never leave more than S seconds between samples")
      ->check(number_range(0, 1e6));
  cmd->add_option("--start", o->start_s, "Start at TIME: seconds or [HH:]MM:SS[.ms] (seeks)")
      ->transform(media_time_validator());
  cmd->add_option("--end", o->end_s, "Stop at TIME: seconds or [HH:]MM:SS[.ms] (exclusive)")
      ->transform(media_time_validator());
  cmd->add_option("--max-frames", o->max_frames, "Stop after N sampled frames")
      ->check(number_range(0, 1e9));
  // No default shown: the effective one is the model folder's framescribe.json max_edge, else
  // 512 (apps::resolve_model_settings), which the option's own initial value does not know.
  auto* edge = cmd->add_option("--max-edge", o->max_edge_px,
                               "Longest edge in pixels, a multiple of 16 from 16 to 1024 "
                               "(default: the model's framescribe.json max_edge, else 512)")
                   ->check(max_edge_validator());
  auto* tok = cmd->add_option("--max-frame-tokens", o->max_frame_tokens,
                              "Token budget per frame (picks the size)")
                  ->check(number_range(1, 1 << 20));
  edge->excludes(tok);
  cmd->add_option(threads_alias ? "--decoder-threads,--threads" : "--decoder-threads", o->threads,
                  "Decoder threads (0: one per core)")
      ->check(number_range(0, 1024));
}

}  // namespace framescribe::apps
