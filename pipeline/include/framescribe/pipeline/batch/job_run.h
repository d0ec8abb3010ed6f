// What running a job file needs beyond the file itself, the same for every front end: each
// video's pipeline options, the one engine's context, the state and index files of a shard (and
// the shard files to merge), what `batch --check` says of a job's sampling, and the checked
// conversion of option seconds.
//
//   const JobFile job = load_job_file("job.yaml");
//   StateStore state(state_path(job, shard));           // "out/state-shard-0-of-4.sqlite"
//   eo.max_context_tokens = engine_context_tokens(job);  // 0: the model's
//   PipelineOptions p = pipeline_options(spec.settings, "a.mp4");
//   for (const auto& f : shard_files(state_path(job, {})))  merge(f);
//
// Errors: Error(kInvalidArgument) naming the option or key for bad seconds and packing values.
// Pure functions (shard_files lists a directory, merge_shard_states writes the state file);
// thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "framescribe/pipeline/batch/job_config.h"
#include "framescribe/pipeline/batch/plan.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::pipeline {

// Seconds from an option or a job file to nanoseconds; throws Error(kInvalidArgument) naming
// `option` for negative, non-finite or absurd values (1e9 s and more).
std::int64_t seconds_to_ns_checked(double seconds, const char* option);

}  // namespace framescribe::pipeline

namespace framescribe::pipeline::batch {

// The pipeline options of one video of a job (validated; 2 pipeline threads: several pipelines
// share the cores, the engine is the bottleneck).
PipelineOptions pipeline_options(const JobSettings& s, const std::string& video);

// The context of the batch's one engine: the largest any job asks for, 0 (the model's) when a
// job asks for the model's.
std::int64_t engine_context_tokens(const JobFile& job);

// The state and index files of `shard`: batch.state / batch.index with {out} replaced (other
// relative paths against the job file's folder), named per shard when sharded (shard_file).
std::filesystem::path state_path(const JobFile& job, const Shard& shard);
std::filesystem::path index_path(const JobFile& job, const Shard& shard);

// Every shard file beside `base` ("state-shard-I-of-N.sqlite" for "state.sqlite"), sorted.
std::vector<std::filesystem::path> shard_files(const std::filesystem::path& base);

// batch merge: every shard state file beside `state_file` merged into it (StateStore::merge_from),
// then each video counted and each done video's outputs checked with `sha256` (the file's hex
// digest). `problems` are the lines to report, in the state's order: "<path>: missing or changed
// since its shard wrote it", "<input>: failed (N attempts): <reason>". Throws Error(kNotFound)
// when there is no shard file, else as StateStore.
struct MergeSummary {
  std::size_t shard_files = 0;
  int done = 0, failed = 0, pending = 0, bad_outputs = 0;
  std::vector<std::string> problems;
};
MergeSummary merge_shard_states(
    const std::filesystem::path& state_file,
    const std::function<std::string(const std::filesystem::path&)>& sha256);

// "fps 1", "every 5, 2 s to 10 s", "keyframes, from 3 s", "scene 0.3", "every frame".
std::string describe(const SamplingSettings& s);

}  // namespace framescribe::pipeline::batch
