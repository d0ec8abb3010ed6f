// Malformed job files and the error each must give: the key path and the 1-based line and column
// of the offending node. Shared by the parser's unit test and the `batch --check` CLI test.
// `files` are created (empty) beside the job file first; "video.mp4" always exists.
#pragma once

#include <string>
#include <vector>

namespace framescribe::testing {

struct MalformedJob {
  const char* name;
  std::string yaml;
  int line;
  int column;
  const char* key_path;
  const char* says;  // a piece of the message
};

// A valid head: jobs follow at line 5.
inline const char* const kHead = "version: 1\ndefaults:\n  model: model\njobs:\n";

inline std::vector<MalformedJob> malformed_jobs() {
  const std::string h = kHead;
  const std::string job = "  - name: a\n    inputs: [video.mp4]\n";
  return {
      {"syntax_unclosed_flow", h + "  - name: a\n    inputs: [video.mp4\n", 7, 1, "(syntax)",
       "end of sequence"},
      {"syntax_map_value", "version: 1\ndefaults:\n  model: a: b\njobs: []\n", 3, 11, "(syntax)",
       "map"},
      {"unknown_top_key", "verison: 1\n" + h.substr(11) + job, 1, 1, "verison", "unknown key"},
      {"unknown_sampling_key",
       "version: 1\ndefaults:\n  model: model\n  sampling:\n    fsp: 2\njobs:\n" + job, 5, 5,
       "defaults.sampling.fsp", "unknown key"},
      {"unknown_job_key", h + job + "    outptus: {}\n", 7, 5, "jobs[0].outptus", "unknown key"},
      {"version_not_int", "version: one\ndefaults:\n  model: model\njobs:\n" + job, 1, 10,
       "version", "expected an integer"},
      {"version_two", "version: 2\ndefaults:\n  model: model\njobs:\n" + job, 1, 10, "version",
       "between 1 and 1"},
      {"fps_not_number", h + job + "    sampling: {fps: fast}\n", 7, 21, "jobs[0].sampling.fps",
       "expected a number"},
      {"fps_negative", h + job + "    sampling:\n      fps: -1\n", 8, 12, "jobs[0].sampling.fps",
       "must be > 0"},
      {"inputs_scalar", h + "  - name: a\n    inputs: video.mp4\n", 6, 13, "jobs[0].inputs",
       "non-empty list"},
      {"inputs_empty", h + "  - name: a\n    inputs: []\n", 6, 13, "jobs[0].inputs",
       "non-empty list"},
      {"inputs_missing", h + "  - name: a\n", 5, 5, "jobs[0].inputs", "missing"},
      {"name_missing", h + "  - inputs: [video.mp4]\n", 5, 5, "jobs[0].name", "missing"},
      {"name_twice", h + job + job, 7, 11, "jobs[1].name", "used twice"},
      {"formats_string", h + job + "    outputs: {formats: jsonl}\n", 7, 24,
       "jobs[0].outputs.formats", "list of formats"},
      {"format_unknown", h + job + "    outputs:\n      formats: [jsonl, pdf]\n", 8, 24,
       "jobs[0].outputs.formats[1]", "unknown format"},
      {"parallel_zero",
       "version: 1\nbatch:\n  parallel: 0\ndefaults:\n  model: model\njobs:\n" + job, 3, 13,
       "batch.parallel", "between 1 and 64"},
      {"temperature_high",
       "version: 1\ndefaults:\n  model: model\n  generation:\n    temperature: 11\njobs:\n" + job,
       5, 18, "defaults.generation.temperature", "<= 10"},
      {"device_tpu", "version: 1\ndefaults:\n  model: model\n  device: tpu\njobs:\n" + job, 4, 11,
       "defaults.device", "cpu or cuda"},
      {"version_missing", "defaults:\n  model: model\njobs:\n" + job, 1, 1, "version", "missing"},
      {"jobs_missing", "version: 1\ndefaults:\n  model: model\n", 1, 1, "jobs", "missing"},
      {"model_missing", "version: 1\ndefaults:\n  device: cpu\njobs:\n" + job, 3, 3,
       "defaults.model", "missing"},
      {"job_sets_model", h + job + "    model: other\n", 7, 12, "jobs[0].model", "loaded once"},
      {"two_sampling_modes", h + job + "    sampling: {fps: 1, every: 5}\n", 7, 15,
       "jobs[0].sampling", "one sampling mode"},
      {"overlap_without_window", h + job + "    packing: {overlap: 2}\n", 7, 24,
       "jobs[0].packing.overlap", "window_seconds"},
      {"layout_unknown_var", h + job + "    outputs: {layout: \"{out}/{foo}/{stem}\"}\n", 7, 23,
       "jobs[0].outputs.layout", "foo"},
      {"layout_without_stem", h + job + "    outputs: {layout: \"{out}/{job}\"}\n", 7, 23,
       "jobs[0].outputs.layout", "{stem}"},
      {"prompt_unknown_var", h + job + "    prompts: {window: \"describe {movie}\"}\n", 7, 23,
       "jobs[0].prompts.window", "movie"},
      {"key_twice", "version: 1\ndefaults:\n  model: model\n  model: other\njobs:\n" + job, 4, 3,
       "defaults.model", "twice"},
      {"bool_wrong", h + job + "    prompts: {make_summary: maybe}\n", 7, 29,
       "jobs[0].prompts.make_summary", "true or false"},
      {"url_scheme", h + "  - name: a\n    inputs: [\"gopher://host/a.mp4\"]\n", 6, 14,
       "jobs[0].inputs[0]", "URL scheme"},
      // One input check for every video (decoder::check_video_input), run at expansion.
      {"url_tcp", h + "  - name: a\n    inputs: [\"tcp://127.0.0.1:9/a.mp4\"]\n", 6, 14,
       "jobs[0].inputs[0]", "URL scheme 'tcp'"},
      {"protocol_concat", h + "  - name: a\n    inputs: [\"concat:video.mp4|video.mp4\"]\n", 6, 14,
       "jobs[0].inputs[0]", "protocol"},
      {"protocol_subfile", h + "  - name: a\n    inputs: [\"subfile,,0,10,:video.mp4\"]\n", 6, 14,
       "jobs[0].inputs[0]", "protocol"},
      {"job_name_dots", h + "  - name: \"..\"\n    inputs: [video.mp4]\n", 5, 11, "jobs[0].name",
       "only dots"},
      {"glob_unbalanced", h + "  - name: a\n    inputs: [\"clips/[ab.mp4\"]\n", 6, 14,
       "jobs[0].inputs[0]", "bad glob"},
      // Found when the inputs are expanded (the file system).
      {"input_missing", h + "  - name: a\n    inputs: [missing.mp4]\n", 6, 14, "jobs[0].inputs[0]",
       "not a readable file"},
      {"glob_no_match", h + "  - name: a\n    inputs: [\"clips/*.mkv\"]\n", 6, 14,
       "jobs[0].inputs[0]", "matches no file"},
      {"manifest_unreadable", h + "  - name: a\n    inputs:\n      - manifest: nowhere.txt\n", 7,
       19, "jobs[0].inputs[0].manifest", "cannot be read"},
      {"same_outputs",
       h + "  - name: a\n    inputs: [video.mp4, sub/video.mp4]\n    outputs: {layout: "
           "\"{out}/{stem}\"}\n",
       6, 25, "jobs[0].inputs[1]", "both write"},
  };
}

}  // namespace framescribe::testing
