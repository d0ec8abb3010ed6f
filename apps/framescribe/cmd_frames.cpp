// framescribe frames VIDEO --out DIR: the frames the model would see, as PNG files named by
// timestamp plus frames.jsonl.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/frame_export.h"
#include "framescribe/sinks/progress_line.h"
#include "model_defaults.h"
#include "summarize_support.h"
#include "video_options.h"

namespace framescribe::apps {

void add_frames_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "frames", "Write the sampled frames of a video as images, exactly as the model sees them");
  struct Opts {
    VideoOptions video;
    std::string out;
    bool progress = true;
    std::string model;
  };
  auto opts = std::make_shared<Opts>();
  add_video_options(cmd, &opts->video, /*positional=*/true, /*threads_alias=*/true);
  cmd->add_option("-o,--out", opts->out, "Output directory (created if missing)")->required();
  cmd->add_flag("!--no-progress", opts->progress, "No progress lines on stderr");
  add_planning_model_option(cmd, &opts->model);
  cmd->footer(
      std::string(kSamplingHelp) +
      "\n\nOutput: DIR/<seconds>.png (e.g. 0000012.345.png, the frame's timestamp) and\n"
      "DIR/frames.jsonl, one JSON object per frame: pts_s, index (frame number in the stream),\n"
      "width, height, tokens (Pixtral tokens of this frame), file, keyframe, source_width,\n"
      "source_height (the picture as displayed, after rotation and aspect ratio).\n"
      "Example: framescribe frames talk.mp4 --fps 0.5 --max-frame-tokens 256 --out talk-frames");
  cmd->callback([cmd, opts, exit_code] {
    // The frames summarize would give the model: its sampling and size defaults, not every frame.
    const auto [sampling, sizing] = planned_sampling(*cmd, opts->model, &opts->video);
    const VideoOptions& v = opts->video;
    const auto t0 = std::chrono::steady_clock::now();
    auto source = decoder::FfmpegSource::open(v.video, v.source());
    const decoder::StreamInfo& info = source->info();

    sinks::ProgressLine progress(opts->progress, stderr, std::nullopt, /*plain_interval_s=*/5.0);
    const double total_s = info.duration_ns > 0 ? core::ns_to_seconds(info.duration_ns) : 0;
    const std::filesystem::path dir(opts->out);
    const decoder::FrameExport done =
        decoder::export_frames(*source, sampling, sizing, dir, [&](double at_s, long long n) {
          progress.update([&] { return media_progress_text("frames", at_s, total_s, n); });
        });
    progress.clear();
    const long long n = done.frames, tokens = done.tokens;
    const decoder::SourceStats& st = source->stats();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(
        stderr,
        "framescribe: wrote %lld frames (%lld tokens) to %s in %.2f s; decoded %lld frames%s\n", n,
        tokens, dir.string().c_str(), secs, static_cast<long long>(st.frames_decoded),
        st.ended_early || st.decode_errors ? " (input damaged: see warnings)" : "");
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
