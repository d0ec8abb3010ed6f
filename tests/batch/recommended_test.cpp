// pipeline/batch/recommended.h: the model's recommendations fill what each job left out.
#include "framescribe/pipeline/batch/recommended.h"

#include <gtest/gtest.h>

namespace framescribe::pipeline::batch {
namespace {

TEST(ApplyRecommended, FillsOnlyWhatAJobLeftOut) {
  JobFile job;
  job.jobs.resize(3);
  // 0: gave nothing. 1: gave every 5th frame and 256 px. 2: gave max_tokens only.
  job.jobs[0].settings.sampling.keyframes = true;  // not given: switched off with the mode
  JobSettings& given = job.jobs[1].settings;
  given.sampling.fps = 0;
  given.sampling.every = 5;
  given.sampling.mode_given = true;
  given.sampling.max_edge_px = 256;
  given.sampling.max_edge_given = true;
  job.jobs[2].settings.generation.max_tokens = 99;
  job.jobs[2].settings.generation.max_tokens_given = true;

  apply_recommended(job, {.fps = 4, .max_edge_px = 64, .max_tokens = 32});

  const SamplingSettings& a = job.jobs[0].settings.sampling;
  EXPECT_EQ(a.fps, 4);
  EXPECT_EQ(a.every, 0);
  EXPECT_FALSE(a.keyframes);
  EXPECT_EQ(a.scene, -1);
  EXPECT_EQ(a.max_edge_px, 64);
  EXPECT_EQ(job.jobs[0].settings.generation.max_tokens, 32);

  EXPECT_EQ(given.sampling.fps, 0);
  EXPECT_EQ(given.sampling.every, 5);
  EXPECT_EQ(given.sampling.max_edge_px, 256);
  EXPECT_EQ(given.generation.max_tokens, 32);

  EXPECT_EQ(job.jobs[2].settings.sampling.fps, 4);
  EXPECT_EQ(job.jobs[2].settings.generation.max_tokens, 99);
}

}  // namespace
}  // namespace framescribe::pipeline::batch
