// framescribe probe VIDEO: what a video is and what it would cost the model (the token plan).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/sinks/progress_line.h"
#include "model_defaults.h"
#include "summarize_support.h"
#include "video_options.h"

namespace framescribe::apps {

namespace {
constexpr long long kContextTokens = 131072;  // Pixtral-12B's 128k-token context

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
    const std::string shown = in.url;  // credentials redacted
    core::TargetSize ts{};
    if (in.display_width_px > 0 && in.display_height_px > 0) {
      ts = decoder::plan_output_size(in.display_width_px, in.display_height_px, sizing);
    }
    long long frames = opts->exact ? -1 : decoder::estimate_sampled_frames(in, sampling);
    const bool scanned = frames < 0;
    if (scanned) frames = scan_frames(*src, sampling, !opts->json);
    const long long per_frame = ts.n_tokens();
    const long long total = frames * per_frame;
    const long long windows = total > 0 ? (total + kContextTokens - 1) / kContextTokens : 0;
    const double duration_s = in.duration_ns > 0 ? core::media_seconds(in.duration_ns) : -1;

    if (opts->json) {
      nlohmann::ordered_json j;
      j["video"] = shown;
      j["container"] = in.container;
      j["codec"] = in.codec;
      j["pixel_format"] = in.pixel_format;
      j["bit_depth"] = in.bit_depth;
      j["duration_s"] = duration_s;
      j["frame_rate"] = in.frame_rate;
      j["frame_count"] = in.frame_count;
      j["coded_width"] = in.coded_width_px;
      j["coded_height"] = in.coded_height_px;
      j["sample_aspect_ratio"] = std::to_string(in.sar_num) + ":" + std::to_string(in.sar_den);
      j["rotation"] = in.rotation_deg;
      j["width"] = in.display_width_px;
      j["height"] = in.display_height_px;
      j["has_audio"] = in.has_audio;
      j["plan"] = {{"sampling", decoder::describe(sampling)},
                   {"frames", frames},
                   {"frames_counted", scanned},
                   {"frame_width", ts.width_px},
                   {"frame_height", ts.height_px},
                   {"tokens_per_frame", per_frame},
                   {"total_tokens", total},
                   {"context_windows_128k", windows}};
      std::cout << j.dump(1) << "\n";
    } else {
      std::printf("video:       %s\n", shown.c_str());
      std::printf("container:   %s\n", in.container.c_str());
      std::printf("codec:       %s (%s), %s, %d-bit\n", in.codec.c_str(), in.codec_long.c_str(),
                  in.pixel_format.c_str(), in.bit_depth);
      if (duration_s >= 0) std::printf("duration:    %.3f s\n", duration_s);
      std::printf(
          "frame rate:  %.3f fps%s\n", in.frame_rate,
          in.frame_count > 0 ? (" (" + std::to_string(in.frame_count) + " frames)").c_str() : "");
      std::printf("size:        %dx%d stored, SAR %d:%d, rotation %d -> %dx%d displayed\n",
                  in.coded_width_px, in.coded_height_px, in.sar_num, in.sar_den, in.rotation_deg,
                  in.display_width_px, in.display_height_px);
      std::printf("audio:       %s\n", in.has_audio ? "yes" : "no");
      std::printf("token plan:  %s\n", decoder::describe(sampling).c_str());
      std::printf("  frames:            %lld%s\n", frames, scanned ? " (counted)" : " (estimated)");
      std::printf("  frame size:        %dx%d (%dx%d patches)\n", ts.width_px, ts.height_px,
                  ts.cols(), ts.rows());
      std::printf("  tokens per frame:  %lld\n", per_frame);
      std::printf("  total tokens:      %lld\n", total);
      std::printf("  128k windows:      %lld\n", windows);
    }
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
