// pipeline/progress_text.h: the status texts of a run and of a batch, from their stats.
#include "framescribe/pipeline/progress_text.h"

#include <gtest/gtest.h>

namespace framescribe::pipeline {
namespace {

constexpr std::int64_t kS = 1'000'000'000;

TEST(RunProgressText, PositionShareSpeedAndEta) {
  PipelineStats s;
  s.media_done_ns = 5 * kS;
  s.media_end_ns = 10 * kS;
  s.frames_sampled = 5;
  s.windows_done = 1;
  s.wall_s = 2.5;  // 2x real time: 5 s left take 2.5 s
  EXPECT_EQ(run_progress_text("clip.mp4", s),
            "clip.mp4: 00:05.0 / 00:10.0 (50%), 5 frames, 1 windows, 2.00x real time, ETA 2.5 s");
}

TEST(RunProgressText, UnknownEndNoStartYetAndTheSummary) {
  PipelineStats s;
  s.media_done_ns = 65 * kS;
  s.frames_sampled = 7;
  s.wall_s = 0;  // no speed yet, no ETA
  EXPECT_EQ(run_progress_text("cam", s), "cam: 01:05.0, 7 frames, 0 windows, 0.00x real time");
  s.media_end_ns = 60 * kS;  // past a known end: capped at 100%, no time left to tell
  s.wall_s = 65;
  EXPECT_EQ(run_progress_text("cam", s),
            "cam: 01:05.0 / 01:00.0 (100%), 7 frames, 0 windows, 1.00x real time, ETA ?");
  s.summarizing = true;
  EXPECT_EQ(run_progress_text("cam", s), "cam: summarising");
}

TEST(BatchProgressText, VideosInProgressAndEta) {
  batch::BatchProgress p;
  p.total = 30;
  p.skipped = 5;
  p.done = 7;
  p.failed = 1;
  p.running = 3;
  p.current = {{"a.mp4", 45, 100}, {"live", 90, -1}, {"c.mp4", 0, -1}};
  p.elapsed_s = 65;
  p.eta_s = 130;
  EXPECT_EQ(batch::progress_text(p),
            "videos 12/30 done (5 earlier), 1 failed, 3 running: a.mp4 45%, live at 1 min 30 s, "
            "c.mp4 starting; 1 min 05 s, ETA 2 min 10 s");
  p.current.clear();
  p.eta_s = -1;  // unknown: no ETA
  EXPECT_EQ(batch::progress_text(p),
            "videos 12/30 done (5 earlier), 1 failed, 3 running; 1 min 05 s");
}

TEST(BatchProgressText, PlannedAndFinished) {
  batch::BatchProgress p;
  p.skipped = 5;
  p.to_run = 25;
  EXPECT_EQ(batch::planned_text(p), "5 already done, 25 to run");
  p.gave_up = 2;
  EXPECT_EQ(batch::planned_text(p),
            "5 already done, 25 to run, 2 given up on (failed batch.max_attempts times)");

  p.change = batch::ProgressChange::kVideo;
  for (const char* last : {"a.mp4: done", "a.mp4: failed: no frames", "a.mp4: gave up"}) {
    p.last = last;
    EXPECT_TRUE(batch::video_finished(p)) << last;
  }
  p.last = "a.mp4: started";
  EXPECT_FALSE(batch::video_finished(p));
  p.last = "a.mp4: done";
  p.change = batch::ProgressChange::kMedia;  // only a video change reports an end
  EXPECT_FALSE(batch::video_finished(p));
}

}  // namespace
}  // namespace framescribe::pipeline
