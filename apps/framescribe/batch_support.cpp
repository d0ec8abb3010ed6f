#include "batch_support.h"

#include <cstdio>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/batch/job_run.h"

namespace framescribe::apps {

namespace fs = std::filesystem;

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
decoded at once and share the engine (each its own sequence, batched step by step on the CPU;
--step-tokens). State (done, failed, outputs and checksums) is kept in
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
