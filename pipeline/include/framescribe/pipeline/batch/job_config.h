// A batch job file (YAML) as typed, validated structs.
//
//   pipeline::batch::JobFile job = pipeline::batch::load_job_file("configs/batch-example.yaml");
//   for (const JobSpec& j : job.jobs) ... j.settings.sampling.fps ...
//   // or from memory (tests, fuzzing): parse_job_text(text, "job.yaml", base_dir)
//
// Schema (every key, default and unit: configs/README.md):
//
//   version: 1                                  # required, must be 1
//   batch:   {parallel, max_attempts, out, state, index}
//   defaults: {model, device, threads, sampling, packing, generation, prompts, outputs}
//   jobs:
//     - name: talks                             # required, unique, [A-Za-z0-9_.-]+, not only dots
//       inputs: [videos/*.mp4, https://host/a.mp4, {manifest: list.txt}]   # which URLs are
//       # accepted is decided at expansion by the input check (plan.h expand_videos)
//       sampling/packing/prompts/outputs: overrides of the defaults (generation and
//       prompts.system belong to the one engine of the batch: defaults only)
//
// Validation is strict: an unknown key, a value of the wrong type or out of range, a missing
// required key throws Error(kInvalidArgument) whose message starts "FILE:LINE:COLUMN: KEY.PATH: "
// (1-based line and column of the offending node), e.g.
//   job.yaml:7:12: jobs[0].sampling.fps: must be > 0 and <= 1000, got -1
// A YAML syntax error is reported the same way with the key path "(syntax)".
// Relative paths (model, manifests, inputs, out) are resolved against the job file's directory.
//
// Plain values; the functions are pure (they read only the file) and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace framescribe::pipeline::batch {

// Where a value was written, for messages about it after parsing (input expansion).
struct SourceMark {
  std::string file;
  int line = 0;  // 1-based; 0: unknown
  int column = 0;
  std::string key_path;  // "jobs[1].inputs[0]"
};
// "file:line:column: key.path: " + what.
std::string format_mark(const SourceMark& mark, const std::string& what);

struct SamplingSettings {
  double fps = 1.0;             // frames per second (0: use another mode)
  std::int64_t every = 0;       // every Nth decoded frame
  bool keyframes = false;       // keyframes only
  double scene = -1;            // scene-change threshold in (0, 1]; -1: off
  double start_s = 0;           // media time to start at
  double end_s = -1;            // media time to stop at; -1: the end
  std::int64_t max_frames = 0;  // 0: no limit
  int max_edge_px = 512;        // longest side of a frame after resizing
  // Whether the file gave a sampling mode / max_edge: what it leaves out, the model folder's
  // framescribe.json may recommend (apps::resolve_model_settings).
  bool mode_given = false;
  bool max_edge_given = false;
};

struct PackingSettings {
  std::int64_t context_tokens = 0;  // 0: the model's
  double window_s = 0;              // 0: no time limit per window
  std::int64_t max_frames_per_window = 0;
  double overlap_s = 0;
  bool carry_previous = false;
  std::int64_t carry_tokens = 256;
};

struct GenerationSettings {
  int max_tokens = 512;           // most tokens per answer
  bool max_tokens_given = false;  // else the model's recommendation may apply
  double temperature = 0;         // 0: greedy
  double top_p = 1;               // nucleus sampling threshold, (0, 1]
  std::uint64_t seed = 0;
};

struct PromptSettings {
  std::string window;   // empty: the default window prompt
  std::string summary;  // empty: the default summary prompt
  std::string system;
  bool make_summary = true;
};

struct OutputSettings {
  std::vector<std::string> formats = {"jsonl", "srt", "vtt", "md"};
  // Directory of a video's outputs; {out} {job} {stem} {name} {parent} {index} are replaced.
  std::string layout = "{out}/{job}/{stem}";
};

struct JobSettings {
  SamplingSettings sampling;
  PackingSettings packing;
  GenerationSettings generation;
  PromptSettings prompts;
  OutputSettings outputs;
};

struct InputSpec {
  enum class Kind { kPath, kGlob, kUrl, kManifest };
  Kind kind = Kind::kPath;
  std::string value;  // as written (relative paths resolved at expansion)
  SourceMark mark;
};

struct JobSpec {
  std::string name;
  std::vector<InputSpec> inputs;
  JobSettings settings;  // defaults with this job's overrides applied
  SourceMark mark;
};

struct BatchSettings {
  int parallel = 2;         // videos decoded at once (1..64)
  int max_attempts = 3;     // a failed video is retried on later runs until it failed this often
  std::string out = "out";  // {out}
  std::string state = "{out}/state.sqlite";  // sharded: state-shard-I-of-N.sqlite beside it
  std::string index = "{out}/index.sqlite";  // likewise
};

struct JobFile {
  std::filesystem::path path;      // the file as given
  std::filesystem::path base_dir;  // relative paths are resolved against this
  int version = 1;
  BatchSettings batch;
  std::string model;  // resolved directory
  std::string device = "cpu";
  int engine_threads = 0;
  std::vector<JobSpec> jobs;
};

// Parses and validates `text` (errors name `file_name`). Does not touch the file system.
JobFile parse_job_text(const std::string& text, const std::string& file_name,
                       const std::filesystem::path& base_dir);
// Reads and parses a job file (kNotFound when it cannot be read).
JobFile load_job_file(const std::filesystem::path& path);

// The variables of outputs.layout and of batch.state / batch.index ({out} only there).
inline constexpr std::array<std::string_view, 6> kLayoutVariables = {"out",  "job",    "stem",
                                                                     "name", "parent", "index"};

}  // namespace framescribe::pipeline::batch
