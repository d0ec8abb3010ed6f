// The job-file parser, input expansion and sharding (label unit): every malformed file gives one
// message with file:line:column and the key path; defaults and overrides combine as documented;
// every file in configs/ is valid; the deploy examples say what configs/deploy/README.md says.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "batch/malformed_jobs.h"
#include "framescribe/core/error.h"
#include "framescribe/decoder/video_input.h"
#include "framescribe/pipeline/batch/job_config.h"
#include "framescribe/pipeline/batch/plan.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using namespace pipeline::batch;

fs::path scratch(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("fs_batch_cfg_" + std::to_string(::getpid())) / name;
  fs::create_directories(d);
  return d;
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

// The check framescribe batch runs on every input (decoder::check_video_input).
CheckedInput check(const std::string& input) {
  const decoder::VideoInput in = decoder::check_video_input(input);
  return {in.kind == decoder::VideoInputKind::kHttp, in.location};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MalformedJobTest : public ::testing::TestWithParam<testing::MalformedJob> {};

TEST_P(MalformedJobTest, OneMessageWithLineColumnAndKeyPath) {
  const testing::MalformedJob& c = GetParam();
  const fs::path dir = scratch(c.name);
  touch(dir / "video.mp4");
  touch(dir / "sub/video.mp4");
  touch(dir / "clips/a.mp4");
  std::string message;
  try {
    const JobFile job = parse_job_text(c.yaml, "job.yaml", dir);
    (void)expand_videos(job, check);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    message = e.what();
  }
  ASSERT_FALSE(message.empty()) << c.name << ": accepted";
  const std::string want = "job.yaml:" + std::to_string(c.line) + ":" + std::to_string(c.column) +
                           ": " + c.key_path + ": ";
  EXPECT_EQ(message.rfind(want, 0), 0u) << "got: " << message << "\nwant prefix: " << want;
  EXPECT_NE(message.find(c.says), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedJobTest, ::testing::ValuesIn(testing::malformed_jobs()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(JobConfig, AtLeastTwentyMalformedCases) {
  EXPECT_GE(testing::malformed_jobs().size(), 20u);
}

TEST(JobConfig, DefaultsAndOverrides) {
  const fs::path dir = scratch("overrides");
  touch(dir / "clips/b.mp4");
  touch(dir / "clips/a.mp4");
  touch(dir / "one.mp4");
  std::ofstream(dir / "list.txt") << "# a comment\none.mp4\n\nhttps://example.com/v/talk.mp4?x=1\n";
  const std::string yaml = R"(version: 1
batch: {parallel: 3, max_attempts: 5, out: results}
defaults:
  model: models/tiny
  sampling: {fps: 2, max_edge: 128}
  generation: {max_tokens: 8}
  outputs: {formats: [jsonl]}
jobs:
  - name: clips
    inputs: ["clips/*.mp4"]
    sampling: {every: 10}
  - name: listed
    inputs: [{manifest: list.txt}]
    outputs: {formats: [srt, vtt], layout: "{out}/{index}-{stem}"}
)";
  const JobFile job = parse_job_text(yaml, "job.yaml", dir);
  EXPECT_EQ(job.batch.parallel, 3);
  EXPECT_EQ(job.batch.max_attempts, 5);
  EXPECT_EQ(job.model, (dir / "models/tiny").string());
  ASSERT_EQ(job.jobs.size(), 2u);
  // The job's sampling section picks a mode: the default fps is off; the size is inherited.
  EXPECT_EQ(job.jobs[0].settings.sampling.fps, 0);
  EXPECT_EQ(job.jobs[0].settings.sampling.every, 10);
  EXPECT_EQ(job.jobs[0].settings.sampling.max_edge_px, 128);
  EXPECT_EQ(job.jobs[1].settings.sampling.fps, 2);
  EXPECT_EQ(job.jobs[1].settings.generation.max_tokens, 8);
  EXPECT_EQ(job.jobs[0].settings.outputs.formats, std::vector<std::string>{"jsonl"});
  EXPECT_EQ(job.jobs[1].settings.outputs.formats, (std::vector<std::string>{"srt", "vtt"}));

  const std::vector<BatchVideo> v = expand_videos(job, check);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(fs::path(v[0].input).filename(), "a.mp4");  // globs are sorted
  EXPECT_EQ(fs::path(v[1].input).filename(), "b.mp4");
  EXPECT_EQ(v[0].out_dir, fs::path(dir / "results/clips/a"));
  EXPECT_EQ(fs::path(v[2].input).filename(), "one.mp4");
  EXPECT_EQ(v[2].out_dir, fs::path(dir / "results/2-one"));
  EXPECT_TRUE(v[3].is_url);
  EXPECT_EQ(v[3].stem, "talk");
  // The query value never reaches the identity (stored in the state file); a hash keeps it apart.
  EXPECT_EQ(v[3].identity.rfind("listed\nhttps://example.com/v/talk.mp4?x=***\n#", 0), 0u)
      << v[3].identity;
  EXPECT_EQ(v[3].identity.find("x=1"), std::string::npos);
  EXPECT_EQ(v[3].input, "https://example.com/v/talk.mp4?x=1");
  EXPECT_EQ(v[3].display, "https://example.com/v/talk.mp4?x=***");
}

// The message of the error expanding `yaml` (a job file in `dir`), or "" when it expands.
std::string expand_error(const std::string& yaml, const fs::path& dir) {
  try {
    (void)expand_videos(parse_job_text(yaml, (dir / "job.yaml").string(), dir), check);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

// A manifest line goes through the same check as an input in the YAML (it used not to: tcp://
// and concat: passed `batch --check` from a manifest), and the error names the manifest's line.
TEST(JobConfig, ManifestLinesPassTheSameInputCheck) {
  const fs::path dir = scratch("manifest_check");
  touch(dir / "ok.mp4");
  const std::string head =
      "version: 1\ndefaults:\n  model: m\njobs:\n  - name: a\n    inputs: [{manifest: "
      "list.txt}]\n";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"tcp://127.0.0.1:9/a.mp4", "URL scheme 'tcp'"},
      {"concat:file:///etc/passwd|file:///etc/passwd", "protocol"},
      {"concat:ok.mp4|ok.mp4", "protocol"},
      {"subfile,,0,100,:ok.mp4", "protocol"},
      {"pipe:0", "protocol"},
      {"rtsp://cam/live", "URL scheme 'rtsp'"},
      {"file://otherhost/ok.mp4", "local absolute path"},
      {"gopher://host/a.mp4", "URL scheme"}};
  for (const auto& [line, says] : refused) {
    std::ofstream(dir / "list.txt") << "ok.mp4\n  " << line << "\n";
    const std::string m = expand_error(head, dir);
    EXPECT_EQ(m.rfind((dir / "list.txt").string() + ":2:3: jobs[0].inputs[0]", 0), 0u)
        << line << " -> " << m;
    EXPECT_NE(m.find(says), std::string::npos) << line << " -> " << m;
  }
  // What is accepted: paths, file:/// URLs, http(s) URLs.
  std::ofstream(dir / "list.txt") << "ok.mp4\nfile://" << (dir / "ok.mp4").string()
                                  << "\nhttps://u:pw@example.com/b.mp4?sig=1\n";
  EXPECT_EQ(expand_error(head, dir), "");
}

// Output paths never leave their root: an input named only by dots, a layout that climbs out,
// and a symlink inside {out} that leads elsewhere are refused with the input's position.
TEST(JobConfig, OutputsStayInsideTheOutputDirectory) {
  const fs::path dir = scratch("escape");
  touch(dir / "....mp4");
  touch(dir / "v.mp4");
  const std::string head = "version: 1\nbatch: {out: out}\ndefaults:\n  model: m\njobs:\n";
  std::string m = expand_error(head + "  - name: a\n    inputs: [\"....mp4\"]\n", dir);
  EXPECT_NE(m.find("only dots"), std::string::npos) << m;
  m = expand_error(head + "  - name: a\n    inputs: [\"https://h/clips/...?t=1\"]\n", dir);
  EXPECT_NE(m.find("only dots"), std::string::npos) << m;
  EXPECT_EQ(m.find("t=1"), std::string::npos) << m;
  m = expand_error(head +
                       "  - name: a\n    inputs: [v.mp4]\n    outputs: {layout: "
                       "\"{out}/../../{stem}\"}\n",
                   dir);
  EXPECT_NE(m.find("outside"), std::string::npos) << m;
  // A symlink already in {out} pointing out of it.
  fs::create_directories(dir / "out");
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dir / "out" / "a");
  m = expand_error(head + "  - name: a\n    inputs: [v.mp4]\n", dir);
  EXPECT_EQ(m.rfind((dir / "job.yaml").string() + ":7:14: jobs[0].inputs[0]", 0), 0u) << m;
  EXPECT_NE(m.find("outside"), std::string::npos) << m;
  fs::remove(dir / "out" / "a");
  EXPECT_EQ(expand_error(head + "  - name: a\n    inputs: [v.mp4]\n", dir), "");
  // A URL with no file name at all is "video", as before.
  const JobFile job =
      parse_job_text(head + "  - name: a\n    inputs: [\"https://h/\"]\n", "job.yaml", dir);
  EXPECT_EQ(expand_videos(job, check).at(0).stem, "video");
}

// A job file named by a relative path (`sbatch slurm-array.sh job.yaml`) resolves its paths
// against its absolute directory: shards record their outputs by these paths, and `batch merge`
// run from another directory found none of them ("missing or changed since its shard wrote it").
TEST(JobConfig, RelativeJobFilePathGivesAbsolutePaths) {
  const fs::path dir = scratch("relative");
  std::ofstream(dir / "job.yaml") << "version: 1\ndefaults:\n  model: models/m\nbatch:\n"
                                     "  out: out\njobs:\n  - name: a\n    inputs: [a.mp4]\n";
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  const fs::path here = fs::current_path();  // the directory as the OS names it
  JobFile job;
  EXPECT_NO_THROW(job = load_job_file("job.yaml"));
  fs::current_path(cwd);
  EXPECT_EQ(job.batch.out, (here / "out").string());
  EXPECT_EQ(job.model, (here / "models/m").string());
  EXPECT_TRUE(job.base_dir.is_absolute()) << job.base_dir;
}

TEST(Shard, ParseAndEnvironment) {
  EXPECT_EQ(parse_shard("2/3").index, 2);
  EXPECT_EQ(parse_shard("2/3").count, 3);
  for (const char* bad : {"3/3", "-1/2", "1", "a/b", "1/0", "1/2x", ""})
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  static std::map<std::string, std::string> env;
  auto get = [](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  env = {
      {"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "3"}};
  Shard s = resolve_shard("", 0, get);
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(resolve_shard("1/2", 0, get).index, 1);  // the command line wins
  env = {{"JOB_COMPLETION_INDEX", "7"}};
  s = resolve_shard("", 8, get);
  EXPECT_EQ(s.index, 7);
  EXPECT_EQ(s.count, 8);
  EXPECT_THROW(resolve_shard("", 0, get), Error);  // the count is needed
  env = {};
  EXPECT_EQ(resolve_shard("", 0, get).count, 1);
}

TEST(Shard, StableHashSplitsEvenly) {
  // FNV-1a 64 of a fixed string: a constant, so shards agree across machines and builds.
  EXPECT_EQ(identity_hash("a"), 0xaf63dc4c8601ec8cull);
  std::map<int, int> per;
  for (int i = 0; i < 3000; ++i) {
    BatchVideo v;
    v.identity = "job\n/data/clip" + std::to_string(i) + ".mp4";
    int hits = 0;
    for (int k = 0; k < 3; ++k) hits += in_shard(v, {k, 3}) ? 1 : 0;
    EXPECT_EQ(hits, 1);
    per[static_cast<int>(identity_hash(v.identity) % 3)]++;
  }
  for (const auto& [k, n] : per) EXPECT_NEAR(n, 1000, 150) << k;
}

// Every example in configs/ parses and validates (inputs are not expanded: they name a user's
// videos).
TEST(Configs, EveryExampleIsValid) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(FS_SOURCE_DIR) / "configs")) {
    // configs/batch-*.yaml are job files (monitor-*.yaml: tests/monitor/monitor_config_test.cpp).
    if (e.path().extension() != ".yaml" || !e.path().filename().string().starts_with("batch"))
      continue;
    EXPECT_NO_THROW(load_job_file(e.path())) << e.path();
    ++n;
  }
  EXPECT_GE(n, 2);
}

// The README documents every key the parser accepts.
TEST(Configs, ReadmeNamesEveryKey) {
  const std::string readme = slurp(fs::path(FS_SOURCE_DIR) / "configs/README.md");
  for (const char* key : {"version",
                          "batch.parallel",
                          "batch.max_attempts",
                          "batch.out",
                          "batch.state",
                          "batch.index",
                          "defaults.model",
                          "defaults.device",
                          "defaults.engine_threads",
                          "sampling.fps",
                          "sampling.every",
                          "sampling.keyframes",
                          "sampling.scene",
                          "sampling.start",
                          "sampling.end",
                          "sampling.max_frames",
                          "sampling.max_edge",
                          "packing.context",
                          "packing.window_seconds",
                          "packing.max_frames_per_window",
                          "packing.overlap",
                          "packing.carry_previous",
                          "packing.carry_tokens",
                          "generation.max_tokens",
                          "generation.temperature",
                          "generation.seed",
                          "prompts.window",
                          "prompts.summary",
                          "prompts.system",
                          "prompts.make_summary",
                          "outputs.formats",
                          "outputs.layout",
                          "jobs[].name",
                          "jobs[].inputs"})
    EXPECT_NE(readme.find(std::string("`") + key + "`"), std::string::npos) << key;
}

TEST(Deploy, KubernetesIndexedJob) {
  const YAML::Node k =
      YAML::LoadFile(std::string(FS_SOURCE_DIR) + "/configs/deploy/k8s-indexed-job.yaml");
  EXPECT_EQ(k["apiVersion"].as<std::string>(), "batch/v1");
  EXPECT_EQ(k["kind"].as<std::string>(), "Job");
  const YAML::Node spec = k["spec"];
  EXPECT_EQ(spec["completionMode"].as<std::string>(), "Indexed");
  const int completions = spec["completions"].as<int>();
  EXPECT_GE(completions, 2);
  EXPECT_LE(spec["parallelism"].as<int>(), completions);
  const YAML::Node pod = spec["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"].as<std::string>(), "OnFailure");
  const YAML::Node c = pod["containers"][0];
  EXPECT_EQ(c["resources"]["limits"]["nvidia.com/gpu"].as<int>(), 1);
  // The command runs `framescribe batch JOB --shards <completions>`.
  std::vector<std::string> cmd;
  for (const auto& a : c["command"]) cmd.push_back(a.as<std::string>());
  for (const auto& a : c["args"]) cmd.push_back(a.as<std::string>());
  ASSERT_GE(cmd.size(), 4u);
  EXPECT_EQ(cmd[0], "framescribe");
  EXPECT_EQ(cmd[1], "batch");
  const auto shards = std::find(cmd.begin(), cmd.end(), "--shards");
  ASSERT_NE(shards, cmd.end());
  EXPECT_EQ(std::stoi(*(shards + 1)), completions);
  // Volumes for the models (read-only) and the outputs, mounted where the job file says.
  std::map<std::string, std::string> mounts;
  for (const auto& m : c["volumeMounts"])
    mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
  std::set<std::string> volumes;
  for (const auto& v : pod["volumes"]) volumes.insert(v["name"].as<std::string>());
  for (const char* name : {"models", "outputs", "job"}) {
    EXPECT_TRUE(mounts.contains(name)) << name;
    EXPECT_TRUE(volumes.contains(name)) << name;
  }
  EXPECT_EQ(mounts["models"], "/models");
  EXPECT_EQ(mounts["outputs"], "/outputs");
}

TEST(Deploy, SlurmArrayScript) {
  std::ifstream in(std::string(FS_SOURCE_DIR) + "/configs/deploy/slurm-array.sh");
  std::map<std::string, std::string> sbatch;
  std::string command;
  bool shebang = false;
  int line_no = 0;
  std::string script;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    script += line + "\n";
    if (line_no == 1) shebang = line.rfind("#!/bin/bash", 0) == 0;
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(#SBATCH\s+--([a-z-]+)(?:=(\S+))?.*)")))
      sbatch[m[1]] = m[2];
    if (line.find("framescribe batch") != std::string::npos && line[0] != '#') command = line;
  }
  EXPECT_TRUE(shebang);
  for (const char* key : {"job-name", "array", "gres", "cpus-per-task", "mem", "time", "output"})
    EXPECT_TRUE(sbatch.contains(key)) << key;
  EXPECT_EQ(sbatch["gres"], "gpu:1");
  EXPECT_TRUE(std::regex_match(sbatch["array"], std::regex(R"(0-\d+(%\d+)?)"))) << sbatch["array"];
  // Shard SLURM_ARRAY_TASK_ID of a count fixed by the script, not SLURM_ARRAY_TASK_COUNT: a task
  // resubmitted alone (sbatch --array=3) must still run shard 3 of 8. The default count is the
  // number of tasks in --array (tests/slurm/slurm_array_test.py runs the script on Slurm).
  EXPECT_NE(command.find("--shard \"${SLURM_ARRAY_TASK_ID}/${shards}\""), std::string::npos)
      << command;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sbatch["array"], m, std::regex(R"(^0-(\d+))")));
  EXPECT_NE(
      script.find("shards=\"${FRAMESCRIBE_SHARDS:-" + std::to_string(std::stoi(m[1]) + 1) + "}\""),
      std::string::npos);
}

}  // namespace
}  // namespace framescribe
