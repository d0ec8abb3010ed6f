// The videos of a batch: inputs expanded (paths, globs, manifests, URLs), each video's identity,
// output directory and stem, and which shard runs it.
//
//   pipeline::batch::JobFile job = load_job_file("job.yaml");
//   std::vector<BatchVideo> all = expand_videos(job, check);    // throws with file:line:col
//   Shard shard = resolve_shard("1/3", 0);                       // or from Slurm / Kubernetes
//   for (const BatchVideo& v : all) if (in_shard(v, shard)) ...
//
// Expansion rules: every input as written - in the YAML or on a manifest line - first passes
// `check` (the decoder's check_video_input, the one check of every video input: apps supplies
// it, since this module does not depend on the decoder); what it refuses is an error at the
// input's file:line:column. A path must name an existing regular file; a glob (glob(3), sorted)
// must match at least one file; a manifest is a text file with one input per line (path, glob
// or URL; '#' starts a comment; relative paths are relative to the manifest); URLs are taken as
// they are. Within a job a video listed twice runs once. Two videos whose outputs would land in
// the same directory with the same stem are an error naming both.
//
// Output paths: the stem is core::source_stem of the input; an input named only by dots
// ("....mp4", "https://h/...") is refused, one with no name at all ("https://h/") is "video".
// Every output directory must stay inside the layout's root ({out} for layouts starting with
// it, else the directory of the layout's fixed prefix), checked lexically and again with the
// symlinks of the directories that exist resolved: an error otherwise.
//
// The identity of a video is "<job>\n<canonical path or URL>": stable across machines that
// mount the inputs at the same path. A URL with credentials, a query or a fragment is named by
// its redacted form (core::redact_source) plus "\n#" and the FNV-1a 64 hash of the whole URL,
// so no secret reaches the state file while two URLs differing only there stay apart. Sharding
// hashes it (FNV-1a 64), so the assignment does not depend on the order or number of other inputs.
// Pure functions (they read the file system only): thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "framescribe/pipeline/batch/job_config.h"

namespace framescribe::pipeline::batch {

struct BatchVideo {
  std::string identity;  // job + "\n" + canonical path or URL (redacted; see above)
  std::string job;
  std::string input;    // the path (canonical) or URL to open: may hold credentials
  std::string display;  // the path, or the URL redacted: the only name printed or stored
  bool is_url = false;
  std::filesystem::path out_dir;  // outputs.layout expanded
  std::string stem;               // output files are <out_dir>/<stem>.<format>
  const JobSpec* spec = nullptr;  // points into the JobFile, which must outlive this
  std::int64_t index = 0;         // position in the whole batch (all jobs), from 0
};

// What the input check made of one input: a URL to open as it is, or a local path (a file://
// URL's path). It throws Error for an input that is refused.
struct CheckedInput {
  bool is_url = false;
  std::string location;
};
using InputCheck = std::function<CheckedInput(const std::string& input)>;

// Throws Error(kInvalidArgument) "file:line:column: key: ..." for a refused or missing input, an
// unusable stem, an output directory outside its root or two videos with the same outputs.
std::vector<BatchVideo> expand_videos(const JobFile& job, const InputCheck& check);

struct Shard {
  int index = 0;
  int count = 1;
};

// "I/N" with 0 <= I < N <= 10000. Throws Error(kInvalidArgument).
Shard parse_shard(const std::string& text);

// The shard this process runs: `cli` ("I/N") when not empty; otherwise Slurm's
// SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT (minus SLURM_ARRAY_TASK_MIN when set); otherwise
// Kubernetes' JOB_COMPLETION_INDEX with `cli_count` shards (required then); otherwise 0/1.
// `getenv` is injectable for tests.
Shard resolve_shard(const std::string& cli, int cli_count,
                    const char* (*getenv_fn)(const char*) = nullptr);

std::uint64_t identity_hash(const std::string& identity);
bool in_shard(const BatchVideo& video, const Shard& shard);

// The state and index files of a shard: "<dir>/state.sqlite" unsharded, else
// "<dir>/state-shard-I-of-N.sqlite".
std::filesystem::path shard_file(const std::filesystem::path& base, const Shard& shard);

}  // namespace framescribe::pipeline::batch
