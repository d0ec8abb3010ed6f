// framescribe probe VIDEO: what a video is and what it would cost the model (the token plan).
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/probe_report.h"
#include "framescribe/sinks/progress_line.h"
#include "model_defaults.h"
#include "summarize_support.h"
#include "video_options.h"

namespace framescribe::apps {

namespace {
// Frames the sampler picks (decoder::count_sampled_frames), with a progress line.
long long scan_frames(decoder::FfmpegSource& src, const decoder::SamplingOptions& s,
                      bool progress_on) {
  sinks::ProgressLine progress(progress_on, stderr, std::nullopt, /*plain_interval_s=*/5.0);
  const double total_s =
      src.info().duration_ns > 0 ? core::ns_to_seconds(src.info().duration_ns) : 0;
  const long long n = decoder::count_sampled_frames(src, s, [&](double at_s, long long sampled) {
    progress.update([&] { return media_progress_text("probe", at_s, total_s, sampled); });
  });
  progress.clear();
  return n;
}
}  // namespace

void add_probe_command(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("probe", "Describe a video and the token plan for a sampling policy");
  struct Opts {
    VideoOptions video;
    bool json = false;
    bool exact = false;
    std::string model;
  };
  auto opts = std::make_shared<Opts>();
  add_video_options(cmd, &opts->video, /*positional=*/true, /*threads_alias=*/true);
  cmd->add_flag("--json", opts->json, "Print JSON instead of text");
  cmd->add_flag("--exact", opts->exact,
                "Count sampled frames by decoding (default: estimate when possible)");
  add_planning_model_option(cmd, &opts->model);
  cmd->footer(
      std::string(kSamplingHelp) +
      "\n\nThe token plan: frames sampled, tokens per frame (Pixtral patch grid of the target "
      "size),\n"
      "total image tokens and how many 128k-token context windows they fill. Frame counts for\n"
      "--fps/--every/every-frame are computed from duration and frame rate; --keyframes and "
      "--scene\n"
      "(or --exact) scan the video.\n"
      "Example: framescribe probe match.mkv --fps 1 --max-frame-tokens 300 --json");
  cmd->callback([cmd, opts, exit_code] {
    // The plan summarize would make: its sampling and size defaults, not every frame at 1024 px.
    const auto [sampling, sizing] = planned_sampling(*cmd, opts->model, &opts->video);
    const VideoOptions& v = opts->video;
    auto src = decoder::FfmpegSource::open(v.video, v.source());
    std::string pixel_format_seen;
    int bit_depth_seen = 0;
    if (src->info().pixel_format.empty()) {
      // Not in the stream parameters (seen with http inputs): a probe that just opened the input
      // decodes one picture to say it, then reopens it for the plan.
      (void)src->next();
      pixel_format_seen = src->info().pixel_format;
      bit_depth_seen = src->info().bit_depth;
      src = decoder::FfmpegSource::open(v.video, v.source());
    }
    decoder::StreamInfo in = src->info();
    if (in.pixel_format.empty()) {
      in.pixel_format = pixel_format_seen.empty() ? "unknown" : pixel_format_seen;
      in.bit_depth = bit_depth_seen;
    }
    core::TargetSize ts{};
    if (in.display_width_px > 0 && in.display_height_px > 0) {
      ts = decoder::plan_output_size(in.display_width_px, in.display_height_px, sizing);
    }
    long long frames = opts->exact ? -1 : decoder::estimate_sampled_frames(in, sampling);
    const bool scanned = frames < 0;
    if (scanned) frames = scan_frames(*src, sampling, !opts->json);
    std::cout << decoder::probe_report(in, sampling, frames, scanned, ts, opts->json);
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
