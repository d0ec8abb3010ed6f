// Job files: yaml-cpp nodes -> typed settings, every value checked where it is read so that the
// error can point at its line and column.
#include "framescribe/pipeline/batch/job_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/media_time.h"
#include "framescribe/pipeline/prompt_template.h"
#include "yaml_fields.h"

namespace framescribe::pipeline::batch {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kFormats = {"jsonl", "srt", "vtt", "md", "html"};

using Ctx = detail::YamlFields;

// A media time key: a number of seconds or "[HH:]MM:SS[.ms]" as on the command line (--start).
double media_time(const Ctx& c, const YAML::Node& n, const std::string& path, double lo, double hi,
                  bool lo_open = false) {
  const std::string s = c.scalar(n, path, "a time");
  if (s.find(':') == std::string::npos) return c.number(n, path, lo, hi, lo_open);
  const std::optional<double> v = core::parse_media_time(s);
  if (!v) c.fail(n, path, "expected seconds or [HH:]MM:SS[.ms], got '" + s + "'");
  if ((lo_open ? *v <= lo : *v < lo) || *v > hi) c.fail(n, path, "out of range, got '" + s + "'");
  return *v;
}

// A key read under an old name: still read, with one warning naming the new one.
void warn_old_key(const Ctx& c, const YAML::Node& key_node, const std::string& old_path,
                  const std::string& new_path) {
  FS_LOG_WARN(batch::format_mark(c.mark(key_node, old_path),
                                 "an old name, read as " + new_path + "; write " + new_path));
}

void parse_sampling(const Ctx& c, const YAML::Node& n, const std::string& p, SamplingSettings& s) {
  c.check_map(n, p,
              {"fps", "every", "keyframes", "scene", "start", "end", "max_frames", "max_edge"});
  int modes = 0;
  for (const char* k : {"fps", "every", "keyframes", "scene"}) modes += n[k] ? 1 : 0;
  if (modes > 1) c.fail(n, p, "give one sampling mode: fps, every, keyframes or scene");
  if (modes == 1) {  // this section picks the mode: the inherited one is off
    s.fps = 0;
    s.every = 0;
    s.keyframes = false;
    s.scene = -1;
  }
  if (modes > 0) s.mode_given = true;
  if (n["fps"]) s.fps = c.number(n["fps"], p + ".fps", 0, 1000, /*lo_open=*/true);
  if (n["every"]) s.every = c.integer(n["every"], p + ".every", 1, 1'000'000);
  if (n["keyframes"]) {
    s.keyframes = c.boolean(n["keyframes"], p + ".keyframes");
    if (!s.keyframes) c.fail(n["keyframes"], p + ".keyframes", "only 'true' selects this mode");
  }
  if (n["scene"]) s.scene = c.number(n["scene"], p + ".scene", 0, 1, /*lo_open=*/true);
  if (n["start"]) s.start_s = media_time(c, n["start"], p + ".start", 0, 1e7);
  if (n["end"]) s.end_s = media_time(c, n["end"], p + ".end", 0, 1e7, /*lo_open=*/true);
  if (s.end_s >= 0 && s.end_s <= s.start_s)
    c.fail(n["end"] ? n["end"] : n, p + ".end", "must be after sampling.start");
  if (n["max_frames"])
    s.max_frames = c.integer(n["max_frames"], p + ".max_frames", 0, 1'000'000'000);
  if (n["max_edge"]) s.max_edge_given = true;
  if (n["max_edge"])
    s.max_edge_px = static_cast<int>(c.integer(n["max_edge"], p + ".max_edge", 16, 8192));
}

void parse_packing(const Ctx& c, const YAML::Node& n, const std::string& p, PackingSettings& s) {
  c.check_map(n, p,
              {"context", "window_seconds", "max_frames_per_window", "overlap", "carry_previous",
               "carry_tokens"});
  if (n["context"]) s.context_tokens = c.integer(n["context"], p + ".context", 0, 1 << 24);
  if (n["window_seconds"])
    s.window_s = c.number(n["window_seconds"], p + ".window_seconds", 0, 1e6);
  if (n["max_frames_per_window"])
    s.max_frames_per_window =
        c.integer(n["max_frames_per_window"], p + ".max_frames_per_window", 0, 100'000);
  if (n["overlap"]) s.overlap_s = c.number(n["overlap"], p + ".overlap", 0, 1e6);
  if (n["carry_previous"]) s.carry_previous = c.boolean(n["carry_previous"], p + ".carry_previous");
  if (n["carry_tokens"])
    s.carry_tokens = c.integer(n["carry_tokens"], p + ".carry_tokens", 0, 1 << 20);
  if (s.overlap_s > 0 && (s.window_s <= 0 || s.overlap_s >= s.window_s))
    c.fail(n["overlap"] ? n["overlap"] : n, p + ".overlap",
           "needs window_seconds and must be shorter than it");
}

void parse_generation(const Ctx& c, const YAML::Node& n, const std::string& p,
                      GenerationSettings& s) {
  c.check_map(n, p, {"max_tokens", "temperature", "top_p", "seed"});
  if (n["max_tokens"]) s.max_tokens_given = true;
  if (n["max_tokens"])
    s.max_tokens = static_cast<int>(c.integer(n["max_tokens"], p + ".max_tokens", 1, 1 << 20));
  if (n["temperature"]) s.temperature = c.number(n["temperature"], p + ".temperature", 0, 10);
  if (n["top_p"]) s.top_p = c.number(n["top_p"], p + ".top_p", 0, 1, /*lo_open=*/true);
  if (n["seed"])
    s.seed = static_cast<std::uint64_t>(
        c.integer(n["seed"], p + ".seed", 0, std::numeric_limits<std::int64_t>::max()));
}

void parse_prompts(const Ctx& c, const YAML::Node& n, const std::string& p, PromptSettings& s) {
  c.check_map(n, p, {"window", "summary", "system", "make_summary"});
  if (n["window"]) {
    s.window = c.text(n["window"], p + ".window");
    c.check_template_at(n["window"], p + ".window", s.window, kWindowPromptVariables);
  }
  if (n["summary"]) {
    s.summary = c.text(n["summary"], p + ".summary");
    c.check_template_at(n["summary"], p + ".summary", s.summary, kSummaryPromptVariables);
  }
  if (n["system"]) s.system = c.text(n["system"], p + ".system");
  if (n["make_summary"]) s.make_summary = c.boolean(n["make_summary"], p + ".make_summary");
}

void parse_outputs(const Ctx& c, const YAML::Node& n, const std::string& p, OutputSettings& s) {
  c.check_map(n, p, {"formats", "layout"});
  if (const YAML::Node f = n["formats"]) {
    const std::string fp = p + ".formats";
    if (!f.IsSequence() || f.size() == 0)
      c.fail(f, fp, "expected a non-empty list of formats, got " + Ctx::kind(f));
    s.formats.clear();
    std::set<std::string> seen;
    for (std::size_t i = 0; i < f.size(); ++i) {
      const std::string ip = fp + "[" + std::to_string(i) + "]";
      const std::string name = c.text(f[i], ip);
      if (!kFormats.contains(name))
        c.fail(f[i], ip, "unknown format '" + name + "'; expected jsonl, srt, vtt, md or html");
      if (!seen.insert(name).second) c.fail(f[i], ip, "format '" + name + "' listed twice");
      s.formats.push_back(name);
    }
  }
  if (const YAML::Node l = n["layout"]) {
    s.layout = c.text(l, p + ".layout", /*allow_empty=*/false);
    c.check_template_at(l, p + ".layout", s.layout, kLayoutVariables);
    if (s.layout.find("{stem}") == std::string::npos &&
        s.layout.find("{name}") == std::string::npos &&
        s.layout.find("{index}") == std::string::npos)
      c.fail(l, p + ".layout",
             "must contain {stem}, {name} or {index} so that videos do not share a directory");
  }
}

// The sections a job may override (defaults has them too).
void parse_sections(const Ctx& c, const YAML::Node& n, const std::string& p, JobSettings& s) {
  auto sub = [&](const char* key) { return p.empty() ? std::string(key) : p + "." + key; };
  if (n["sampling"]) parse_sampling(c, n["sampling"], sub("sampling"), s.sampling);
  if (n["packing"]) parse_packing(c, n["packing"], sub("packing"), s.packing);
  if (n["generation"]) parse_generation(c, n["generation"], sub("generation"), s.generation);
  if (n["prompts"]) parse_prompts(c, n["prompts"], sub("prompts"), s.prompts);
  if (n["outputs"]) parse_outputs(c, n["outputs"], sub("outputs"), s.outputs);
}

bool balanced_brackets(const std::string& glob) {
  bool open = false;
  for (std::size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\') {
      ++i;
    } else if (glob[i] == '[') {
      if (open) return false;
      open = true;
      if (i + 1 < glob.size() && (glob[i + 1] == '!' || glob[i + 1] == '^')) ++i;
      if (i + 1 < glob.size() && glob[i + 1] == ']') ++i;  // "[]...]" has a literal ']'
    } else if (glob[i] == ']' && open) {
      open = false;
    }
  }
  return !open;
}

InputSpec parse_input(const Ctx& c, const YAML::Node& n, const std::string& p) {
  InputSpec in;
  in.mark = c.mark(n, p);
  if (n.IsMap()) {
    c.check_map(n, p, {"manifest"});
    if (!n["manifest"]) c.fail(n, p, "expected {manifest: FILE}");
    in.kind = InputSpec::Kind::kManifest;
    in.value = c.text(n["manifest"], p + ".manifest", /*allow_empty=*/false);
    in.mark = c.mark(n["manifest"], p + ".manifest");
    return in;
  }
  in.value = c.text(n, p, /*allow_empty=*/false);
  if (in.value.find("://") != std::string::npos) {
    // Which URLs are read is decided by one check for every way a video arrives (manifest lines
    // too): the decoder's check_video_input, run by expand_videos.
    in.kind = InputSpec::Kind::kUrl;
  } else if (in.value.find_first_of("*?[") != std::string::npos) {
    if (!balanced_brackets(in.value))
      c.fail(n, p, "bad glob '" + in.value + "': '[' without a closing ']'");
    in.kind = InputSpec::Kind::kGlob;
  } else {
    in.kind = InputSpec::Kind::kPath;
  }
  return in;
}

std::string resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

}  // namespace

std::string format_mark(const SourceMark& m, const std::string& what) {
  // One line whatever the file held: control bytes (newlines of a multi-line value, a NUL in a
  // key, a stray escape) are written as escapes.
  auto escaped = [](std::ostringstream& os, const std::string& text) {
    for (const char ch : text) {
      const auto u = static_cast<unsigned char>(ch);
      if (ch == '\n') {
        os << "\\n";
      } else if (u < 0x20 || u == 0x7f) {
        static const char kHex[] = "0123456789abcdef";
        os << "\\x" << kHex[u >> 4] << kHex[u & 15];
      } else {
        os << ch;
      }
    }
  };
  std::ostringstream os;
  os << m.file << ":" << m.line << ":" << m.column << ": ";
  escaped(os, m.key_path);
  os << ": ";
  escaped(os, what);
  return os.str();
}

JobFile parse_job_text(const std::string& text, const std::string& file_name,
                       const fs::path& base_dir) {
  const Ctx c{file_name};
  // const: operator[] on a const node never inserts the key it looks up.
  const YAML::Node root = detail::load_yaml(text, file_name);
  if (!root.IsMap())
    c.fail(root, "(top level)",
           "expected a mapping with version, defaults and jobs, got " + Ctx::kind(root));
  c.check_map(root, "", {"version", "batch", "defaults", "jobs"});

  JobFile job;
  job.path = file_name;
  job.base_dir = base_dir;
  if (!root["version"]) c.fail(root, "version", "missing; write 'version: 1'");
  job.version = static_cast<int>(c.integer(root["version"], "version", 1, 1));

  if (const YAML::Node b = root["batch"]) {
    c.check_map(b, "batch", {"parallel", "max_attempts", "out", "state", "index"});
    if (b["parallel"])
      job.batch.parallel = static_cast<int>(c.integer(b["parallel"], "batch.parallel", 1, 64));
    if (b["max_attempts"])
      job.batch.max_attempts =
          static_cast<int>(c.integer(b["max_attempts"], "batch.max_attempts", 1, 100));
    if (b["out"]) job.batch.out = c.text(b["out"], "batch.out", false);
    static constexpr std::array<std::string_view, 1> kOut = {"out"};
    for (const char* k : {"state", "index"}) {
      if (!b[k]) continue;
      std::string& dst = std::string(k) == "state" ? job.batch.state : job.batch.index;
      dst = c.text(b[k], std::string("batch.") + k, false);
      c.check_template_at(b[k], std::string("batch.") + k, dst, kOut);
    }
  }
  job.batch.out = resolve(base_dir, job.batch.out);

  JobSettings defaults;
  const YAML::Node d = root["defaults"];
  if (d) {
    c.check_map(d, "defaults",
                {"model", "device", "threads", "engine_threads", "sampling", "packing",
                 "generation", "prompts", "outputs"});
    if (d["model"]) job.model = resolve(base_dir, c.text(d["model"], "defaults.model", false));
    if (d["device"]) {
      job.device = c.text(d["device"], "defaults.device");
      if (job.device != "cpu" && job.device != "cuda")
        c.fail(d["device"], "defaults.device", "must be cpu or cuda, got '" + job.device + "'");
    }
    // threads, as -t/--threads on the command line; engine_threads is its old name.
    if (d["threads"] && d["engine_threads"])
      c.fail(d["engine_threads"], "defaults.engine_threads",
             "the old name of defaults.threads, given beside it; keep threads only");
    if (d["threads"])
      job.engine_threads = static_cast<int>(c.integer(d["threads"], "defaults.threads", 0, 1024));
    if (d["engine_threads"]) {
      warn_old_key(c, d["engine_threads"], "defaults.engine_threads", "defaults.threads");
      job.engine_threads =
          static_cast<int>(c.integer(d["engine_threads"], "defaults.engine_threads", 0, 1024));
    }
    parse_sections(c, d, "defaults", defaults);
  }

  const YAML::Node jobs = root["jobs"];
  if (!jobs) c.fail(root, "jobs", "missing; list at least one job with name and inputs");
  if (!jobs.IsSequence() || jobs.size() == 0)
    c.fail(jobs, "jobs", "expected a non-empty list of jobs, got " + Ctx::kind(jobs));
  std::set<std::string> names;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string p = "jobs[" + std::to_string(i) + "]";
    const YAML::Node j = jobs[i];
    if (j.IsMap() && (j["model"] || j["device"]))
      c.fail(j["model"] ? j["model"] : j["device"], p + (j["model"] ? ".model" : ".device"),
             "the model is loaded once per batch: set it in defaults");
    // One engine (and its sampling parameters and system prompt) serves the whole batch.
    if (j.IsMap() && j["generation"])
      c.fail(j["generation"], p + ".generation", "one engine serves the batch: set it in defaults");
    if (j.IsMap() && j["prompts"] && j["prompts"].IsMap() && j["prompts"]["system"])
      c.fail(j["prompts"]["system"], p + ".prompts.system",
             "one engine serves the batch: set it in defaults");
    c.check_map(j, p, {"name", "inputs", "sampling", "packing", "prompts", "outputs"});
    JobSpec spec;
    spec.mark = c.mark(j, p);
    if (!j["name"]) c.fail(j, p + ".name", "missing; every job needs a name");
    spec.name = c.text(j["name"], p + ".name", false);
    for (char ch : spec.name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.')
        c.fail(j["name"], p + ".name",
               "use letters, digits, '_', '-' and '.' only, got '" + spec.name + "'");
    // The name is a directory under {out} ({job}): "." or ".." would be another directory.
    if (spec.name.find_first_not_of('.') == std::string::npos)
      c.fail(j["name"], p + ".name",
             "'" + spec.name + "' is only dots; a job name names its output directory");
    if (!names.insert(spec.name).second)
      c.fail(j["name"], p + ".name", "job name '" + spec.name + "' used twice");
    const YAML::Node ins = j["inputs"];
    if (!ins)
      c.fail(j, p + ".inputs", "missing; list video paths, globs, URLs or {manifest: FILE}");
    if (!ins.IsSequence() || ins.size() == 0)
      c.fail(ins, p + ".inputs", "expected a non-empty list of inputs, got " + Ctx::kind(ins));
    for (std::size_t k = 0; k < ins.size(); ++k)
      spec.inputs.push_back(parse_input(c, ins[k], p + ".inputs[" + std::to_string(k) + "]"));
    spec.settings = defaults;
    parse_sections(c, j, p, spec.settings);
    job.jobs.push_back(std::move(spec));
  }
  if (job.model.empty())
    c.fail(d ? d : root, "defaults.model", "missing; the model directory is required");
  return job;
}

JobFile load_job_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kNotFound, path.string() << ": cannot read the job file");
  std::ostringstream ss;
  ss << in.rdbuf();
  // Absolute: the shards record their outputs by these paths, and `batch merge` or a rerun from
  // another directory (a Slurm task runs in the submit directory) must find them.
  return parse_job_text(ss.str(), path.string(), fs::absolute(path).parent_path());
}

}  // namespace framescribe::pipeline::batch
