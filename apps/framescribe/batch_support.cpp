#include "batch_support.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/batch/job_run.h"

namespace framescribe::apps {

namespace fs = std::filesystem;

// FRAMESCRIBE_PROGRESS_INTERVAL: seconds between two plain (not a terminal) progress lines.
double progress_interval_s() {
  if (const char* env = std::getenv("FRAMESCRIBE_PROGRESS_INTERVAL");
      env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && std::isfinite(v) && v >= 0) return v;
  }
  return 10.0;
}

std::string batch_progress_text(const pipeline::batch::BatchProgress& p) {
  std::string s = "videos " + std::to_string(p.done + p.skipped) + "/" + std::to_string(p.total) +
                  " done (" + std::to_string(p.skipped) + " earlier), " + std::to_string(p.failed) +
                  " failed, " + std::to_string(p.running) + " running";
  char buf[64];
  for (std::size_t k = 0; k < p.current.size(); ++k) {
    const pipeline::batch::RunningVideo& v = p.current[k];
    s += k == 0 ? ": " : ", ";
    s += v.name + " ";
    if (v.duration_s > 0) {
      std::snprintf(buf, sizeof buf, "%.0f%%",
                    100.0 * std::min(1.0, v.media_done_s / v.duration_s));
    } else if (v.media_done_s > 0) {  // a stream without a duration
      std::snprintf(buf, sizeof buf, "at %s", sinks::format_duration(v.media_done_s).c_str());
    } else {
      std::snprintf(buf, sizeof buf, "starting");
    }
    s += buf;
  }
  s += "; " + sinks::format_duration(p.elapsed_s);
  if (p.eta_s >= 0) s += ", ETA " + sinks::format_duration(p.eta_s);
  return s;
}

void show_batch_progress(sinks::ProgressLine& line, const pipeline::batch::BatchProgress& p) {
  using pipeline::batch::ProgressChange;
  if (p.change == ProgressChange::kPlanned) {
    std::string s =
        std::to_string(p.skipped) + " already done, " + std::to_string(p.to_run) + " to run";
    if (p.gave_up > 0)
      s += ", " + std::to_string(p.gave_up) + " given up on (failed batch.max_attempts times)";
    line.print_line(s);
    return;
  }
  const bool finished =
      p.change == ProgressChange::kVideo &&
      (p.last.ends_with(": done") || p.last.find(": failed") != std::string::npos ||
       p.last.find(": gave up") != std::string::npos);
  if (finished) {
    line.print_line(line.tty() ? p.last : p.last + " | " + batch_progress_text(p));
    if (line.tty()) line.show(batch_progress_text(p), /*force=*/true);
    return;
  }
  line.update([&] { return batch_progress_text(p); });
}

int print_batch_check(const std::string& file, const pipeline::batch::JobFile& job,
                      const std::vector<pipeline::batch::BatchVideo>& videos) {
  // The model folder as the run will load it, less the weights: a wrong folder, a broken
  // config or a tokenizer of another model fails here, not hours into a batch.
  const inference::ModelConfig config =
      inference::load_model_config(job.model, inference::WeightFile::kOptional);
  const inference::Tokenizer tok = inference::Tokenizer::load(inference::find_tokenizer(job.model));
  inference::check_tokenizer_matches(tok, config);
  std::printf("%s: ok: %zu jobs, %zu videos; model %s (config and tokenizer checked)\n",
              file.c_str(), job.jobs.size(), videos.size(), job.model.c_str());
  for (const pipeline::batch::BatchVideo& v : videos) {
    const pipeline::batch::JobSettings& s = v.spec->settings;
    std::printf("  %s [%s]: %s, max_edge %d, max_tokens %d, temperature %g -> %s\n",
                v.display.c_str(), v.job.c_str(), pipeline::batch::describe(s.sampling).c_str(),
                s.sampling.max_edge_px, s.generation.max_tokens, s.generation.temperature,
                v.out_dir.string().c_str());
  }
  return 0;
}

const char* const kBatchHelp =
    R"(Runs the videos of a YAML job file (configs/README.md) with one model: --parallel videos are
decoded at once and share the engine. State (done, failed, outputs and checksums) is kept in
SQLite (batch.state), so a rerun skips what is done and retries failures up to
batch.max_attempts. Every event goes into a search index (batch.index; framescribe search).

Sharding: --shard I/N runs the videos whose identity hashes to I; under Slurm
(SLURM_ARRAY_TASK_ID/COUNT) and Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX with --shards N)
the shard is read from the environment. Each shard writes its own state and index file;
`framescribe batch merge FILE` combines them and checks every output's checksum.

Progress (stderr; --quiet: none): first "N already done, M to run", then the videos in progress
with their percentage and an ETA for the whole batch weighted by duration; redrawn in place on a
terminal, elsewhere a line per finished video and one every 10 s
(FRAMESCRIBE_PROGRESS_INTERVAL=SECONDS changes that).

Exit: 0 every video done, 1 some failed (or an error), 2 usage, 130 interrupted.)";

}  // namespace framescribe::apps
