// What running a job file needs beyond the file (pipeline/batch/job_run.h): each video's pipeline
// options, the engine's context, the state and index files per shard, the shard files to merge,
// the sampling text of --check and the checked seconds. Plain JobFile values; a temporary folder.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>

#include <filesystem>
#include <fstream>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/job_run.h"
#include "framescribe/pipeline/batch/state_store.h"

namespace framescribe::pipeline::batch {
namespace {

namespace fs = std::filesystem;

TEST(JobRun, PipelineOptionsOfAJob) {
  JobSettings s;
  s.packing.context_tokens = 4096;
  s.generation.max_tokens = 100;
  s.packing.window_s = 30;
  s.packing.overlap_s = 5;
  s.packing.carry_previous = true;
  s.packing.carry_tokens = 64;
  s.prompts.window = "Frames {start} to {end}.";
  s.prompts.make_summary = false;
  const PipelineOptions p = pipeline_options(s, "a.mp4");
  EXPECT_EQ(p.packing.context_tokens, 4096);
  EXPECT_EQ(p.packing.answer_reserve_tokens, 100);
  EXPECT_EQ(p.packing.window_ns, 30'000'000'000);
  EXPECT_EQ(p.packing.overlap_ns, 5'000'000'000);
  EXPECT_EQ(p.packing.carry_tokens, 64);
  EXPECT_EQ(p.packing.video_name, "a.mp4");
  EXPECT_TRUE(p.carry_previous);
  EXPECT_FALSE(p.summary);
  EXPECT_EQ(p.threads, 2);
  s.packing.carry_previous = false;
  EXPECT_EQ(pipeline_options(s, "a.mp4").packing.carry_tokens, 0);  // no carry, no reserve
  s.packing.window_s = -1;
  try {
    (void)pipeline_options(s, "a.mp4");
    ADD_FAILURE() << "a negative window accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("packing.window_seconds"), std::string::npos);
  }
}

TEST(JobRun, SecondsAreChecked) {
  EXPECT_EQ(seconds_to_ns_checked(1.5, "--x"), 1'500'000'000);
  EXPECT_EQ(seconds_to_ns_checked(0, "--x"), 0);
  EXPECT_THROW((void)seconds_to_ns_checked(-0.5, "--x"), Error);
  EXPECT_THROW((void)seconds_to_ns_checked(1e9, "--x"), Error);
  EXPECT_THROW((void)seconds_to_ns_checked(std::nan(""), "--x"), Error);
}

TEST(JobRun, EngineContextIsTheLargestOrTheModels) {
  JobFile job;
  job.jobs.resize(2);
  job.jobs[0].settings.packing.context_tokens = 4096;
  job.jobs[1].settings.packing.context_tokens = 8192;
  EXPECT_EQ(engine_context_tokens(job), 8192);
  job.jobs[0].settings.packing.context_tokens = 0;  // one job wants the model's whole context
  EXPECT_EQ(engine_context_tokens(job), 0);
}

TEST(JobRun, StateAndIndexFilesPerShard) {
  JobFile job;
  job.base_dir = "/jobs";
  job.batch.out = "/jobs/out";
  job.batch.state = "{out}/state.sqlite";
  job.batch.index = "idx/index.sqlite";  // relative without {out}: against the job's folder
  EXPECT_EQ(state_path(job, {}), fs::path("/jobs/out/state.sqlite"));
  EXPECT_EQ(state_path(job, {.index = 1, .count = 4}),
            fs::path("/jobs/out/state-shard-1-of-4.sqlite"));
  EXPECT_EQ(index_path(job, {}), fs::path("/jobs/idx/index.sqlite"));
}

TEST(JobRun, ShardFilesBesideTheBase) {
  const fs::path dir = fs::temp_directory_path() / ("fs-job-run-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name : {"state-shard-1-of-2.sqlite", "state-shard-0-of-2.sqlite", "state.sqlite",
                           "index-shard-0-of-2.sqlite", "state-shard-0.txt"})
    std::ofstream(dir / name) << "x";
  const std::vector<fs::path> files = shard_files(dir / "state.sqlite");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "state-shard-0-of-2.sqlite");
  EXPECT_EQ(files[1].filename(), "state-shard-1-of-2.sqlite");
  EXPECT_TRUE(shard_files(dir / "none.sqlite").empty());
  fs::remove_all(dir);
}

TEST(JobRun, MergeShardStatesCountsAndChecksOutputs) {
  const fs::path dir = fs::temp_directory_path() / ("fs-job-merge-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_THROW((void)merge_shard_states(dir / "state.sqlite", nullptr), Error);  // no shards
  const fs::path kept = dir / "a.srt", changed = dir / "b.srt";
  std::ofstream(kept) << "a";
  std::ofstream(changed) << "b";
  {
    StateStore s0(dir / "state-shard-0-of-2.sqlite");
    s0.mark_running("j\na", "j", "a.mp4");
    s0.mark_done("j\na", 1, 1, "h", {{kept.string(), "hash-a", 1}});
    s0.mark_running("j\nc", "j", "c.mp4");
    s0.mark_failed("j\nc", "cannot open");
    StateStore s1(dir / "state-shard-1-of-2.sqlite");
    s1.mark_running("j\nb", "j", "b.mp4");
    s1.mark_done("j\nb", 1, 1, "h", {{changed.string(), "hash-b-old", 1}});
    s1.mark_running("j\nd", "j", "d.mp4");
    s1.mark_pending("j\nd");
  }
  // The "digest" of a file is its content prefixed; b.srt no longer matches its record.
  const MergeSummary m = merge_shard_states(dir / "state.sqlite", [](const fs::path& p) {
    std::ifstream in(p);
    std::string text;
    in >> text;
    return "hash-" + text;
  });
  EXPECT_EQ(m.shard_files, 2u);
  EXPECT_EQ(m.done, 2);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.pending, 1);
  EXPECT_EQ(m.bad_outputs, 1);
  ASSERT_EQ(m.problems.size(), 2u);  // in identity order: b's output, then c's failure
  EXPECT_EQ(m.problems[0], changed.string() + ": missing or changed since its shard wrote it");
  EXPECT_EQ(m.problems[1], "c.mp4: failed (1 attempts): cannot open");
  EXPECT_EQ(StateStore(dir / "state.sqlite").all().size(), 4u);
  fs::remove_all(dir);
}

TEST(JobRun, SamplingText) {
  SamplingSettings s;  // fps 1 by default
  EXPECT_EQ(describe(s), "fps 1");
  s.fps = 0;
  s.every = 5;
  s.start_s = 2;
  s.end_s = 10;
  EXPECT_EQ(describe(s), "every 5, 2 s to 10 s");
  s.every = 0;
  s.keyframes = true;
  s.end_s = -1;
  s.start_s = 3;
  EXPECT_EQ(describe(s), "keyframes, from 3 s");
  s.keyframes = false;
  s.scene = 0.3;
  s.start_s = 0;
  EXPECT_EQ(describe(s), "scene 0.3");
  s.scene = -1;
  EXPECT_EQ(describe(s), "every frame");
}

}  // namespace
}  // namespace framescribe::pipeline::batch
