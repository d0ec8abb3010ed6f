#include "framescribe/pipeline/batch/job_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/state_store.h"
#include "framescribe/pipeline/prompt_template.h"

namespace framescribe::pipeline {

namespace fs = std::filesystem;

std::int64_t seconds_to_ns_checked(double seconds, const char* option) {
  FS_CHECK(std::isfinite(seconds) && seconds >= 0 && seconds < 1e9, kInvalidArgument,
           option << " must be a number of seconds >= 0, got " << seconds);
  return std::llround(seconds * 1e9);
}

namespace batch {

PipelineOptions pipeline_options(const JobSettings& s, const std::string& video) {
  PipelineOptions p;
  p.packing.context_tokens = s.packing.context_tokens;
  p.packing.answer_reserve_tokens = s.generation.max_tokens;
  p.packing.window_ns = seconds_to_ns_checked(s.packing.window_s, "packing.window_seconds");
  p.packing.max_frames_per_window = s.packing.max_frames_per_window;
  p.packing.overlap_ns = seconds_to_ns_checked(s.packing.overlap_s, "packing.overlap");
  p.packing.carry_tokens = s.packing.carry_previous ? s.packing.carry_tokens : 0;
  p.packing.prompt_template = s.prompts.window;
  p.packing.video_name = video;
  p.carry_previous = s.packing.carry_previous;
  p.summary = s.prompts.make_summary;
  p.summary_template = s.prompts.summary;
  // Several pipelines share two or more cores: small arenas, the engine is the bottleneck.
  p.threads = 2;
  validate(p.packing);
  return p;
}

std::int64_t engine_context_tokens(const JobFile& job) {
  std::int64_t context = 0;
  for (const JobSpec& j : job.jobs) {
    if (j.settings.packing.context_tokens == 0) return 0;
    context = std::max(context, j.settings.packing.context_tokens);
  }
  return context;
}

namespace {
fs::path expand_out(const std::string& pattern, const JobFile& job) {
  const fs::path p(expand_template(pattern, {{"out", job.batch.out}}));
  // {out} is already resolved against the job file's directory; other relative paths are not.
  if (p.is_absolute() || pattern.find("{out}") != std::string::npos) return p;
  return (job.base_dir / p).lexically_normal();
}
}  // namespace

fs::path state_path(const JobFile& job, const Shard& shard) {
  return shard_file(expand_out(job.batch.state, job), shard);
}
fs::path index_path(const JobFile& job, const Shard& shard) {
  return shard_file(expand_out(job.batch.index, job), shard);
}

std::vector<fs::path> shard_files(const fs::path& base) {
  std::vector<fs::path> out;
  std::error_code ec;
  const std::string prefix = base.stem().string() + "-shard-";
  const fs::path dir = base.has_parent_path() ? base.parent_path() : fs::path(".");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(base.extension().string()))
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

MergeSummary merge_shard_states(const fs::path& state_file,
                                const std::function<std::string(const fs::path&)>& sha256) {
  const std::vector<fs::path> states = shard_files(state_file);
  FS_CHECK(!states.empty(), kNotFound,
           state_file.parent_path().string()
               << ": no shard state files (" << state_file.stem().string()
               << "-shard-I-of-N.sqlite) to merge");
  StateStore merged(state_file);
  for (const fs::path& p : states) merged.merge_from(p);
  MergeSummary m;
  m.shard_files = states.size();
  for (const VideoRecord& r : merged.all()) {
    if (r.status == VideoStatus::kDone) {
      ++m.done;
      for (const OutputRecord& out : r.outputs) {
        std::error_code ec;
        if (!fs::is_regular_file(out.path, ec) || sha256(out.path) != out.sha256) {
          ++m.bad_outputs;
          m.problems.push_back(out.path + ": missing or changed since its shard wrote it");
        }
      }
    } else if (r.status == VideoStatus::kFailed) {
      ++m.failed;
      m.problems.push_back(r.input + ": failed (" + std::to_string(r.attempts) +
                           " attempts): " + r.reason);
    } else {
      ++m.pending;
    }
  }
  return m;
}

std::string describe(const SamplingSettings& s) {
  char buf[160];
  if (s.fps > 0) {
    std::snprintf(buf, sizeof buf, "fps %g", s.fps);
  } else if (s.every > 0) {
    std::snprintf(buf, sizeof buf, "every %lld", static_cast<long long>(s.every));
  } else if (s.keyframes) {
    std::snprintf(buf, sizeof buf, "keyframes");
  } else if (s.scene >= 0) {
    std::snprintf(buf, sizeof buf, "scene %g", s.scene);
  } else {
    std::snprintf(buf, sizeof buf, "every frame");
  }
  std::string t = buf;
  if (s.end_s >= 0) {
    std::snprintf(buf, sizeof buf, ", %g s to %g s", s.start_s, s.end_s);
    t += buf;
  } else if (s.start_s > 0) {
    std::snprintf(buf, sizeof buf, ", from %g s", s.start_s);
    t += buf;
  }
  return t;
}

}  // namespace batch
}  // namespace framescribe::pipeline
