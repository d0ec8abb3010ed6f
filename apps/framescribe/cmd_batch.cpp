// framescribe batch FILE: the videos of a YAML job file through one model, several at once,
// resumable (SQLite state), shardable (--shard I/N, Slurm, Kubernetes), searchable (FTS5 index).
// framescribe batch merge FILE: combines the shards' state and index files.
//
// Composition: pipeline::batch (job file, plan, state, runner) + decoder::VideoFrameSource +
// PixtralWindowEngine (inference) + sinks (files and the search index). The model is loaded
// once (SharedEngines); each video gets its own pipeline, each parallel worker a window engine
// of its own, batched step by step with the others' (or, --step-tokens 0 and CUDA, a client of
// one engine whose calls run one at a time).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "batch_support.h"
#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/video_frame_source.h"
#include "framescribe/decoder/video_input.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pipeline/batch/batch_runner.h"
#include "framescribe/pipeline/batch/job_config.h"
#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/batch/plan.h"
#include "framescribe/pipeline/batch/recommended.h"
#include "framescribe/pipeline/batch/state_store.h"
#include "framescribe/pipeline/progress_text.h"
#include "framescribe/pixtral/window_engine.h"
#include "framescribe/sinks/checksum.h"
#include "framescribe/sinks/progress_text.h"
#include "framescribe/sinks/search_index.h"
#include "framescribe/sinks/sinks.h"
#include "model_defaults.h"
#include "run_support.h"
#include "shared_engines.h"
#include "summarize_support.h"
#include "video_options.h"

namespace framescribe::apps {
namespace {

namespace fs = std::filesystem;
namespace batch = pipeline::batch;

struct BatchOptions {
  std::string file;
  bool check = false;
  std::string shard;
  int shards = 0;
  int parallel = 0;                        // 0: the job file's batch.parallel
  std::string load_format = "checkpoint";  // --load-format: checkpoint | dummy
  int threads = -1;                        // -1: the job file's defaults.threads
  std::int64_t step_tokens = inference::StepSchedulerOptions{}.step_tokens;  // --step-tokens
  bool quiet = false;
};

VideoOptions video_options(const batch::SamplingSettings& s) {
  VideoOptions v;
  v.fps = s.fps;
  v.every = s.every;
  v.keyframes = s.keyframes;
  v.scene = s.scene;
  v.start_s = s.start_s;
  v.end_s = s.end_s;
  v.max_frames = s.max_frames;
  v.max_edge_px = s.max_edge_px;
  return v;
}

// Loads and expands the job file; every check of --check.
struct Loaded {
  batch::JobFile job;
  std::vector<batch::BatchVideo> videos;
};
std::unique_ptr<Loaded> load(const std::string& file) {
  auto l = std::make_unique<Loaded>();
  l->job = batch::load_job_file(file);
  // What a job leaves out, the model folder's framescribe.json recommends, exactly as for
  // summarize (resolve_model_settings): the demo model runs at its 64 px, not at 512 px.
  ModelRequest r;
  r.model = l->job.model;
  const ModelDefaults d = inference::resolve_model_settings(r).recommended;
  batch::apply_recommended(l->job, {.fps = d.fps.value_or(kDefaultFps),
                                    .max_edge_px = d.max_edge.value_or(kDefaultMaxEdge),
                                    .max_tokens = d.max_tokens.value_or(kDefaultMaxTokens)});
  // The decoder's check of every video input, for YAML inputs and manifest lines alike.
  l->videos = batch::expand_videos(l->job, [](const std::string& input) {
    const decoder::VideoInput in = decoder::check_video_input(input);
    return batch::CheckedInput{in.kind == decoder::VideoInputKind::kHttp, in.location};
  });
  for (const batch::JobSpec& j : l->job.jobs) {
    (void)video_options(j.settings.sampling).sampling();
    (void)video_options(j.settings.sampling).sizing();
    (void)batch::pipeline_options(j.settings, "x");
  }
  return l;
}

int run_batch_command(const BatchOptions& o) {
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  std::unique_ptr<Loaded> l = load(o.file);
  const batch::JobFile& job = l->job;
  if (o.check) {
    return print_batch_check(o.file, job, l->videos);
  }
  if (o.quiet && core::log_level() < core::LogLevel::kWarn)
    core::set_log_level(core::LogLevel::kWarn);
  const batch::Shard shard = batch::resolve_shard(o.shard, o.shards);
  std::vector<batch::BatchVideo> mine;
  for (const batch::BatchVideo& v : l->videos)
    if (batch::in_shard(v, shard)) mine.push_back(v);
  FS_LOG_INFO("batch " << o.file << ": shard " << shard.index << "/" << shard.count << ": "
                       << mine.size() << " of " << l->videos.size() << " videos");

  batch::StateStore state(batch::state_path(job, shard));
  sinks::SearchIndex index(batch::index_path(job, shard));

  // One engine for the batch; its context fits the largest any job asks for.
  const std::int64_t context = batch::engine_context_tokens(job);
  const batch::JobSettings& first = job.jobs.front().settings;
  ModelRequest request;
  request.model = job.model;
  request.engine = {.device = job.device, .load_format = o.load_format};
  request.context = context;
  const EngineChoice& choice = request.engine;
  inference::EngineOptions eo = resolve_model_settings(request, nullptr, nullptr).engine;
  eo.n_threads = o.threads >= 0 ? o.threads : job.engine_threads;
  eo.max_context_tokens = context;
  pixtral::PixtralWindowOptions wo;
  wo.system = first.prompts.system;
  wo.max_answer_tokens = first.generation.max_tokens;
  wo.sampling.temperature = static_cast<float>(first.generation.temperature);
  wo.sampling.top_p = static_cast<float>(first.generation.top_p);
  wo.sampling.seed = first.generation.seed;
  wo.context_tokens = context;
  wo.model_name = model_display_name(job.model);
  const int parallel = o.parallel > 0 ? o.parallel : job.batch.parallel;
  // An engine per parallel worker, batched step by step on the CPU (--step-tokens 0, or CUDA:
  // one engine whose calls run one at a time).
  SharedEngines engines(job.model, choice, eo, wo,
                        {.clients = parallel, .step_tokens = o.step_tokens});

  batch::BatchHooks hooks;
  hooks.open = [&](const batch::BatchVideo& v, core::StopFlag& stop, core::RunInfo& info) {
    auto src = open_video(v.input, video_options(v.spec->settings.sampling), &stop);
    info = file_run_info(v.display, *src, wo.model_name);
    return std::unique_ptr<core::FrameSource>(std::move(src));
  };
  hooks.sinks = [&](const batch::BatchVideo& v) {
    batch::VideoSinks vs;
    for (const std::string& f : v.spec->settings.outputs.formats) {
      vs.sinks.push_back(sinks::make_sink(f, v.out_dir, v.stem, nullptr));
      vs.files.push_back(v.out_dir / (v.stem + "." + f));
    }
    vs.sinks.push_back(index.sink(v.display, v.job));
    return vs;
  };
  hooks.options = [&](const batch::BatchVideo& v) {
    return batch::pipeline_options(v.spec->settings, fs::path(v.display).filename().string());
  };
  hooks.sha256 = [](const fs::path& p) { return sinks::sha256_file(p); };

  core::StopFlag stop;
  ScopedStopSignals signals(stop);
  // stderr: "N already done, M to run", then the status line (redrawn in place on a terminal,
  // elsewhere every $FRAMESCRIBE_PROGRESS_INTERVAL s) with a line per finished video above it.
  sinks::ProgressLine line(!o.quiet, stderr, std::nullopt, sinks::progress_interval_s(), 0);
  const auto show = [&line](const batch::BatchProgress& p) {  // under the runner's lock
    if (p.change == batch::ProgressChange::kPlanned) return line.print_line(batch::planned_text(p));
    if (!batch::video_finished(p)) return line.update([&] { return batch::progress_text(p); });
    sinks::print_line_with_status(line, p.last, batch::progress_text(p));
  };
  const batch::RunnerOptions ro{.parallel = parallel, .max_attempts = job.batch.max_attempts};
  const batch::WorkerEngines worker_engine = [&](int k) -> pipeline::WindowEngine& {
    return engines.engine("batch worker " + std::to_string(k));
  };
  const batch::BatchSummary s = batch::run_batch(mine, state, worker_engine, ro, hooks, stop, show);
  FS_LOG_DEBUG("engine " << pixtral::to_string(engines.reuse_stats()));
  if (const auto st = engines.scheduler_stats()) FS_LOG_DEBUG("scheduler " << scheduler_line(*st));
  if (!o.quiet) line.print_line(batch::progress_text(s.final));
  if (s.stopped) return 130;
  return s.final.failed > 0 ? 1 : 0;
}

int run_merge(const std::string& file) {
  const batch::JobFile job = batch::load_job_file(file);
  const fs::path state_file = batch::state_path(job, {});
  const fs::path index_file = batch::index_path(job, {});
  const batch::MergeSummary m = batch::merge_shard_states(
      state_file, [](const fs::path& p) { return sinks::sha256_file(p); });
  sinks::SearchIndex index(index_file);
  for (const fs::path& p : batch::shard_files(index_file)) index.merge_from(p);
  for (const std::string& line : m.problems)
    std::fprintf(stderr, "framescribe: %s\n", line.c_str());
  std::printf(
      "merged %zu shard files into %s: %d done, %d failed, %d not done; %lld events in %s\n",
      m.shard_files, state_file.c_str(), m.done, m.failed, m.pending,
      static_cast<long long>(index.event_count()), index_file.c_str());
  return m.bad_outputs > 0 || m.failed > 0 ? 1 : 0;
}

}  // namespace

void add_batch_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("batch", "Run a YAML job file of videos (resumable, shardable)");
  auto o = std::make_shared<BatchOptions>();
  cmd->add_option("FILE", o->file, "The job file (configs/README.md)");
  cmd->add_flag("--check", o->check, "Validate the job file and its inputs, run nothing");
  auto* shard = cmd->add_option("--shard", o->shard, "Run shard I of N (I/N, from 0)");
  cmd->add_option("--shards", o->shards,
                  "Number of shards when the index comes from JOB_COMPLETION_INDEX (Kubernetes)")
      ->check(CLI::PositiveNumber)
      ->excludes(shard);
  cmd->add_option("-j,--parallel", o->parallel, "Videos decoded at once (default: batch.parallel)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("-t,--threads,--engine-threads", o->threads,
                  "CPU engine threads (0: all; default: defaults.threads)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--load-format", o->load_format,
                  "checkpoint, or dummy: random weights of the model's sizes, only its config "
                  "and tokenizer are read (speed and memory checks; the text is meaningless)")
      ->check(CLI::IsMember({"checkpoint", "dummy"}))
      ->capture_default_str();
  add_step_tokens_option(cmd, &o->step_tokens);
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->footer(kBatchHelp);
  auto merge_file = std::make_shared<std::string>();
  auto* merge = cmd->add_subcommand("merge", "Combine the shards' state and index files");
  merge->add_option("FILE", *merge_file, "The job file the shards ran")->required();
  merge->callback([merge_file, exit_code] { *exit_code = run_merge(*merge_file); });
  cmd->callback([o, merge, cmd, exit_code] {
    if (merge->parsed()) return;
    if (o->file.empty()) throw CLI::RequiredError("FILE");
    (void)cmd;
    *exit_code = run_batch_command(*o);
  });
}

}  // namespace framescribe::apps
