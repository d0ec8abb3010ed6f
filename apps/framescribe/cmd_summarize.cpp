// framescribe summarize VIDEO...: timestamped descriptions and a summary of each video, written
// to the console and to files (JSONL, SRT, WebVTT, Markdown, HTML) through the pipeline.
//
// Composition: decoder::FfmpegSource + SampledReader (frames) -> pipeline::VideoPipeline (TBB
// graph, packing, events) -> PixtralWindowEngine (inference) -> sinks. The model is loaded once
// for all videos. Ctrl-C: the first finishes the window in progress and writes the outputs of
// what was done (exit 130); a second abandons that window.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/source_name.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/size_advice.h"
#include "framescribe/decoder/video_frame_source.h"
#include "framescribe/decoder/video_input.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pipeline/frame_fit.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pipeline/plan_report.h"
#include "framescribe/pipeline/prompt_template.h"
#include "framescribe/pipeline/run_settings.h"
#include "framescribe/pipeline/video_pipeline.h"
#include "framescribe/pixtral/window_engine.h"
#include "framescribe/sinks/progress_line.h"
#include "framescribe/sinks/sinks.h"
#include "model_defaults.h"
#include "run_support.h"
#include "summarize_support.h"
#include "video_options.h"

namespace framescribe::apps {
namespace {

namespace fs = std::filesystem;

struct SummarizeOptions {
  std::vector<std::string> videos;
  VideoOptions video;
  ModelRequest req;  // --model, --device, --load-format, --threads, --context; what was given
  int max_tokens = 512;
  inference::SamplingParams sampling;  // --temperature, --top-p, --seed
  pipeline::RunSettings run;           // windows, prompts, summary (--window-seconds, --prompt ...)
  std::string system;
  std::string out;
  std::string formats;
  bool quiet = false;
  bool dry_run = false;
  bool approximate_reuse = false;  // --approximate-reuse (opt-in)
  bool json = false;
  std::string dump_prompts;
};

pipeline::PipelineOptions pipeline_options(const SummarizeOptions& o, const std::string& video) {
  return pipeline::pipeline_options(o.run, o.req.context, o.max_tokens, video);
}

// --dry-run: the windows the run would make, without loading the weights.
int dry_run(const SummarizeOptions& o) {
  const inference::ModelConfig config = load_config(o.req.model, o.req.engine);
  const inference::Tokenizer tok =
      inference::Tokenizer::load(inference::find_tokenizer(o.req.model));
  const pixtral::PixtralCoster coster(config, tok, o.system, o.req.context);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  core::StopFlag stop;
  for (const std::string& url : o.videos) {
    const std::string name = core::redact_source(url);
    pipeline::PipelineOptions p = pipeline_options(o, fs::path(name).filename().string());
    const std::unique_ptr<decoder::VideoFrameSource> opened = open_video(url, o.video, &stop);
    const pipeline::PlanReport r =
        pipeline::plan_report(*opened, name, opened->sampling_text(), p, coster);
    all.push_back(nlohmann::ordered_json::parse(r.json));
    if (!o.json) std::cout << r.text;
  }
  if (o.json) std::cout << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  return 0;
}

// Picks the model (--model, $FRAMESCRIBE_MODEL or the bundled demo model) and applies the
// settings its framescribe.json recommends to every option the user did not give (the same
// function as batch, probe and frames: resolve_model_settings).
inference::EngineOptions apply_model_defaults(SummarizeOptions& o) {
  const ModelSettings m = resolve_model_settings(o.req, &o.video, &o.max_tokens);
  o.req.model = m.dir.string();
  if (!o.quiet) print_demo_model_notice(m);
  return m.engine;
}

int run_summarize(SummarizeOptions o) {
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  // Every video name first (the input check FfmpegSource runs again at open): a refused URL
  // scheme stops the run before anything is loaded.
  for (const std::string& url : o.videos)
    (void)decoder::check_video_input(url, /*allow_stdin=*/true);
  const inference::EngineOptions eo = apply_model_defaults(o);
  // Check every option and combination of options before any work: a usage error (exit 2).
  std::vector<std::string> formats;
  bool needs_dir = false, console = false;
  check_usage([&] {
    (void)o.video.sampling();
    (void)o.video.sizing();
    (void)pipeline_options(o, "x");
    formats = sinks::parse_formats(!o.formats.empty() ? o.formats
                                   : o.out.empty()    ? std::string("console")
                                                   : std::string("console,jsonl,srt,vtt,md,html"));
    for (const std::string& f : formats) {
      needs_dir |= f != "console";
      console |= f == "console";
    }
    FS_CHECK(o.dry_run || !needs_dir || !o.out.empty(), kInvalidArgument,
             "--format names files; give --out DIR for them");
  });
  if (o.dry_run) return dry_run(o);
  if (o.quiet && core::log_level() < core::LogLevel::kWarn)
    core::set_log_level(core::LogLevel::kWarn);

  std::FILE* dump = nullptr;
  if (!o.dump_prompts.empty()) {
    dump = std::fopen(o.dump_prompts.c_str(), "wb");
    FS_CHECK(dump != nullptr, kIo, "--dump-prompts " << o.dump_prompts << ": cannot create it");
  }
  struct FileCloser {
    std::FILE* f;
    ~FileCloser() {
      if (f) std::fclose(f);
    }
  } dump_closer{dump};

  pixtral::PixtralWindowOptions wo;
  wo.system = o.system;
  wo.max_answer_tokens = o.max_tokens;
  wo.sampling = o.sampling;
  wo.context_tokens = o.req.context;
  wo.dump_prompts = dump;
  wo.model_name = model_display_name(o.req.model);
  wo.approximate_reuse = o.approximate_reuse;
  const std::unique_ptr<pixtral::PixtralWindowEngine> window_engine =
      load_window_engine(o.req.model, o.req.engine, eo, wo);

  core::StopFlag stop;
  ScopedStopSignals signals(stop);

  int failures = 0;
  std::set<std::string> stems;
  for (const std::string& url : o.videos) {
    if (stop.stop_requested()) break;
    const std::string name = core::redact_source(url);
    // Output files are named after the input's file name (core::source_stem: no credentials,
    // never "." or ".."); an input with no usable name is "video".
    const std::string base_stem = core::source_stem(url).empty() ? "video" : core::source_stem(url);
    std::string stem = base_stem;
    for (int k = 2; !stems.insert(stem).second; ++k) stem = base_stem + "-" + std::to_string(k);
    try {
      const std::unique_ptr<decoder::VideoFrameSource> opened = open_video(url, o.video, &stop);
      decoder::VideoFrameSource& source = *opened;
      {
        // Frames too large for the context: a usage error before anything is decoded.
        std::vector<std::int64_t> label_pts = {seconds_to_ns_checked(o.video.start_s, "--start")};
        if (source.end_ns() != core::kNoTimestamp) label_pts.push_back(source.end_ns());
        const int w = source.info().display_width_px, h = source.info().display_height_px;
        const decoder::OutputSizing sizing = o.video.sizing();
        const std::string problem =
            w <= 0 || h <= 0  // unknown until decoded: the packer decides
                ? std::string()
                : pipeline::frame_fit_problem(
                      pipeline_options(o, fs::path(name).filename().string()).packing,
                      window_engine->coster(), sizing.longest_edge_px, sizing.patch_px,
                      [&](int edge) {
                        decoder::OutputSizing z = sizing;
                        z.longest_edge_px = edge;
                        return decoder::plan_output_size(w, h, z);
                      },
                      label_pts);
        if (!problem.empty()) throw CLI::ValidationError(name + ": " + problem);
        // An extreme aspect ratio leaves a strip of smeared pixels: said once, before decoding.
        if (const std::string strip = decoder::strip_warning(name, w, h, sizing); !strip.empty())
          FS_LOG_WARN(strip);
      }
      if (o.videos.size() > 1 && !o.quiet && console) {
        // Several videos on one console: each block says whose it is.
        std::printf("%s== %s ==\n", &url == &o.videos.front() ? "" : "\n", name.c_str());
        std::fflush(stdout);
      }
      std::vector<std::unique_ptr<core::EventSink>> owned;
      std::vector<core::EventSink*> sinks;
      for (const std::string& f : formats) {
        if (f == "console" && o.quiet) continue;  // --quiet: files only
        owned.push_back(sinks::make_sink(f, o.out, stem, stdout));
        if (owned.back()) sinks.push_back(owned.back().get());
      }
      core::RunInfo info = file_run_info(name, source, wo.model_name);
      info.started_at = core::utc_now_iso8601();
      pipeline::VideoPipeline vp(*window_engine, sinks,
                                 pipeline_options(o, fs::path(name).filename().string()));
      sinks::ProgressLine progress(!o.quiet);
      pipeline::RunResult r = vp.run(source, info, stop, [&](const pipeline::PipelineStats& s) {
        progress.update([&] { return run_progress_text(name, s); });
      });
      progress.clear();
      if (!o.quiet && core::log_level() < core::LogLevel::kError) {
        // What was written, one path a line (the files exist only now, renamed into place).
        for (const std::string& f : formats) {
          const fs::path file = fs::path(o.out) / (stem + "." + f);
          std::error_code ec;
          if (f != "console" && fs::is_regular_file(file, ec))
            std::fprintf(stderr, "framescribe: wrote %s\n", file.c_str());
        }
      }
      if (r.end.status == core::RunStatus::kStopped) {
        FS_LOG_WARN(name << ": stopped; outputs hold the " << r.end.windows << " windows done");
      } else if (r.end.status == core::RunStatus::kFailed) {
        // No exception but nothing described (no frame decoded): a failure, never "complete".
        ++failures;
        std::fprintf(stderr, "framescribe: %s: error: %s\n", name.c_str(), r.end.error.c_str());
        continue;
      } else if (r.end.status == core::RunStatus::kPartial) {
        FS_LOG_WARN(name << ": partial: " << r.end.error
                         << "; the outputs describe the frames before that");
      }
      FS_LOG_INFO(name << ": " << r.stats.windows_done << " windows, " << r.stats.frames_described
                       << " frames described, " << r.end.frames_skipped << " skipped, "
                       << r.stats.events << " events; " << sinks::format_duration(r.stats.wall_s)
                       << " (engine " << sinks::format_duration(r.stats.engine_s) << ")");
    } catch (const Error& e) {
      // A video that cannot be read does not stop the others; an engine failure does.
      ++failures;
      std::fprintf(stderr, "framescribe: %s: error (%s): %s\n", name.c_str(),
                   std::string(to_string(e.code())).c_str(), e.what());
      if (e.code() != ErrorCode::kNotFound && e.code() != ErrorCode::kUnsupported &&
          e.code() != ErrorCode::kIo)
        break;
    }
  }
  FS_LOG_DEBUG("engine " << pixtral::to_string(window_engine->stats()));
  if (stop.stop_requested()) return 130;
  return failures > 0 ? 1 : 0;
}

}  // namespace

void add_summarize_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "summarize", "Timestamped descriptions and a summary of videos (console and files)");
  auto o = std::make_shared<SummarizeOptions>();
  cmd->add_option("VIDEO", o->videos, "Video files or URLs")->required();
  add_model_option(cmd, &o->req.model);
  add_engine_options(cmd, &o->req);
  o->video.max_edge_px = 512;  // summaries: 512 px frames (594 tokens at 16:9) by default
  add_video_options(cmd, &o->video, /*positional=*/false);
  add_context_option(cmd, &o->req.context);
  cmd->add_option("-n,--max-tokens", o->max_tokens,
                  "Most tokens per answer (reserved in every window's context)")
      ->capture_default_str()
      ->check(number_range(1, 1 << 20));
  add_sampling_options(cmd, &o->sampling);
  add_approximate_reuse_option(cmd, &o->approximate_reuse);
  cmd->add_option("--window-seconds", o->run.window_s,
                  "A window spans less than S seconds of frames")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-frames-per-window", o->run.max_frames_per_window,
                  "At most N frames per window")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--overlap", o->run.overlap_s,
                  "Each window repeats the previous window's last S seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--carry-previous", o->run.carry_previous,
                "Give each window the previous window's description");
  cmd->add_option("--carry-tokens", o->run.carry_tokens, "Tokens reserved for that description")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* prompt = cmd->add_option("--prompt", o->run.prompt,
                                 "Window prompt ({start} {end} {video} {n_frames})");
  cmd->add_option("--prompt-file", o->run.prompt_file, "Window prompt from a file")
      ->excludes(prompt);
  auto* sp = cmd->add_option("--summary-prompt", o->run.summary_prompt,
                             "Summary prompt ({start} {end} {video})");
  cmd->add_option("--summary-prompt-file", o->run.summary_prompt_file, "Summary prompt from a file")
      ->excludes(sp);
  cmd->add_option("--system", o->system, "System prompt");
  cmd->add_flag("--no-summary", o->run.no_summary, "Skip the final summary");
  cmd->add_option("-o,--out", o->out, "Output directory for files (created if missing)");
  cmd->add_option("--format", o->formats,
                  "Outputs, comma-separated: console,jsonl,srt,vtt,md,html or all "
                  "(default: console; with --out: all)");
  cmd->add_flag("--quiet", o->quiet, "No progress and no console output (files only)");
  cmd->add_flag("--dry-run", o->dry_run, "Print the windows the run would make; loads no weights");
  cmd->add_flag("--json", o->json, "With --dry-run: the plan as JSON");
  cmd->add_option("--max-frames-in-flight", o->run.max_frames_in_flight,
                  "Frames decoded ahead at most (0: twice a window)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--dump-prompts", o->dump_prompts,
                  "Write every prompt (text, images as placeholders, token counts) as JSONL");
  cmd->footer(std::string(kSummarizeHelp) + "\n\n" + kSamplingHelp);
  cmd->callback([cmd, o, exit_code] {
    note_given_options(*cmd, &o->req);
    *exit_code = run_summarize(*o);
  });
}

}  // namespace framescribe::apps
