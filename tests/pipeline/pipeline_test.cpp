// The flow graph with fakes (label unit; also run under ThreadSanitizer in CI): every sampled
// frame ends in a window or is counted as skipped, windows and events come out in order, the
// frames in flight stay under the bound, a fatal error surfaces once, and a stop flushes the
// sinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/video_pipeline.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

using testing::FakeEngine;
using testing::hms;
using testing::ListSource;
using testing::RecordingSink;

constexpr std::int64_t kSec = 1'000'000'000;

pipeline::PipelineOptions options(std::int64_t overlap_ns = 0) {
  pipeline::PipelineOptions o;
  o.packing.answer_reserve_tokens = 64;
  o.packing.overlap_ns = overlap_ns;
  o.packing.video_name = "fake.mp4";
  o.summary = false;
  return o;
}

std::set<std::int64_t> pts_of(const core::WindowResult& w) {
  return {w.frame_pts_ns.begin(), w.frame_pts_ns.end()};
}

TEST(Pipeline, EveryFrameInOrderedWindowsWithExactOverlap) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    FakeEngine engine(/*context=*/600, /*max_latency_ms=*/3, seed);
    engine.prepare_us = 200;
    RecordingSink a("a"), b("b");
    const std::int64_t overlap = 2 * kSec;
    pipeline::VideoPipeline p(engine, {&a, &b}, options(overlap));
    ListSource src(300, kSec / 2);
    core::StopFlag stop;
    const pipeline::RunResult r = p.run(src, core::RunInfo{.video = "fake.mp4"}, stop);

    EXPECT_EQ(r.end.status, core::RunStatus::kComplete);
    EXPECT_EQ(r.stats.frames_sampled, 300);
    EXPECT_EQ(r.end.frames_skipped, 0);
    EXPECT_EQ(engine.concurrent_calls.load(), 0);
    EXPECT_EQ(engine.unprepared_frames.load(), 0);
    EXPECT_EQ(a.overlapping.load(), 0);
    ASSERT_GT(a.windows.size(), 10u);
    ASSERT_EQ(a.windows.size(), b.windows.size());
    EXPECT_EQ(a.calls.front(), "begin");
    EXPECT_EQ(a.calls.back(), "finish");
    EXPECT_EQ(a.calls.size(), a.windows.size() + 2);

    // Windows in order; together they hold every frame.
    std::set<std::int64_t> all;
    for (std::size_t k = 0; k < a.windows.size(); ++k) {
      const core::WindowResult& w = a.windows[k];
      EXPECT_EQ(w.id, static_cast<std::int64_t>(k));
      EXPECT_EQ(b.windows[k].id, w.id);
      ASSERT_FALSE(w.frame_pts_ns.empty());
      EXPECT_TRUE(std::is_sorted(w.frame_pts_ns.begin(), w.frame_pts_ns.end()));
      EXPECT_EQ(w.start_ns, w.frame_pts_ns.front());
      EXPECT_GT(w.end_ns, w.frame_pts_ns.back());
      all.insert(w.frame_pts_ns.begin(), w.frame_pts_ns.end());
    }
    EXPECT_EQ(all.size(), 300u);
    EXPECT_EQ(*all.begin(), 0);
    EXPECT_EQ(*all.rbegin(), 299 * kSec / 2);
    EXPECT_EQ(a.windows.back().end_ns, 300 * kSec / 2);  // the source's end

    // Consecutive windows share exactly the frames of the last `overlap` before the end.
    for (std::size_t k = 0; k + 1 < a.windows.size(); ++k) {
      const core::WindowResult& w = a.windows[k];
      const core::WindowResult& n = a.windows[k + 1];
      std::set<std::int64_t> expected;
      for (std::int64_t t : w.frame_pts_ns)
        if (t >= w.end_ns - overlap) expected.insert(t);
      std::set<std::int64_t> shared;
      for (std::int64_t t : n.frame_pts_ns)
        if (pts_of(w).count(t)) shared.insert(t);
      EXPECT_EQ(shared, expected) << "windows " << k << " and " << k + 1;
      EXPECT_EQ(expected.size(), 4u);  // 2 s of frames every 0.5 s
      // The window ends where the next window's first new frame is.
      std::int64_t first_new = -1;
      for (std::int64_t t : n.frame_pts_ns)
        if (!pts_of(w).count(t)) {
          first_new = t;
          break;
        }
      EXPECT_EQ(w.end_ns, first_new);
    }

    // The prompts the engine saw: labels are the frames' times; no prompt exceeds the budget.
    for (const pipeline::WindowPlan& plan : engine.plans) {
      std::int64_t tokens = 3 + static_cast<std::int64_t>(plan.instruction.size());
      ASSERT_EQ(plan.labels.size(), plan.frames.size());
      for (std::size_t i = 0; i < plan.frames.size(); ++i) {
        EXPECT_EQ(plan.labels[i], "[" + hms(plan.frames[i].frame.pts_ns) + "]");
        tokens += static_cast<std::int64_t>(plan.labels[i].size()) + 2 * 3;
      }
      EXPECT_EQ(plan.planned_tokens, tokens);
      EXPECT_LE(tokens + 64, 600);
      EXPECT_NE(plan.instruction.find(std::to_string(plan.frames.size()) + " frames"),
                std::string::npos);
    }

    // Events: in time order, inside their windows, each frame described exactly once even
    // though overlapping windows described it twice.
    std::map<std::string, int> seen;
    std::int64_t last_start = -1;
    for (const core::WindowResult& w : a.windows) {
      for (const core::Event& e : w.events) {
        EXPECT_EQ(e.window_id, w.id);
        EXPECT_GE(e.start_ns, w.start_ns);
        EXPECT_LE(e.end_ns, w.end_ns);
        EXPECT_GE(e.start_ns, last_start);
        last_start = e.start_ns;
        ++seen[e.text];
      }
    }
    EXPECT_EQ(seen.size(), 300u);
    for (const auto& [text, n] : seen) EXPECT_EQ(n, 1) << text;
  }
}

TEST(Pipeline, FramesInFlightNeverExceedTheBound) {
  for (std::int64_t limit : {3, 7, 12, 40}) {
    SCOPED_TRACE(limit);
    FakeEngine engine(600, 4, 7);
    RecordingSink sink;
    pipeline::PipelineOptions o = options(kSec);
    o.max_frames_in_flight = limit;
    pipeline::VideoPipeline p(engine, {&sink}, o);
    ListSource src(200, kSec / 2);
    core::StopFlag stop;
    const pipeline::RunResult r = p.run(src, {}, stop);
    EXPECT_EQ(r.end.status, core::RunStatus::kComplete);
    EXPECT_EQ(r.stats.frames_in_flight_limit, limit);
    EXPECT_LE(engine.peak_live.load(), limit);  // prepared payloads alive at once
    EXPECT_LE(r.stats.max_frames_in_flight, limit);
    EXPECT_EQ(engine.live.load(), 0);  // all released at the end
    std::set<std::int64_t> all;
    for (const auto& w : sink.windows) all.insert(w.frame_pts_ns.begin(), w.frame_pts_ns.end());
    EXPECT_EQ(all.size(), 200u);
  }
}

TEST(Pipeline, DefaultBoundHoldsTwoWindows) {
  FakeEngine engine(600, 2, 3);
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options());
  ListSource src(400, kSec);
  core::StopFlag stop;
  const pipeline::RunResult r = p.run(src, {}, stop);
  std::size_t largest = 0;
  for (const auto& w : sink.windows) largest = std::max(largest, w.frame_pts_ns.size());
  EXPECT_EQ(r.stats.frames_in_flight_limit, static_cast<std::int64_t>(2 * largest + 2));
  EXPECT_LE(engine.peak_live.load(), r.stats.frames_in_flight_limit);
}

TEST(Pipeline, EngineErrorSurfacesOnceAndSinksGetTheWindowsBefore) {
  FakeEngine engine(600, 1, 5);
  engine.throw_at = 3;
  RecordingSink a("a"), b("b");
  pipeline::VideoPipeline p(engine, {&a, &b}, options());
  ListSource src(500, kSec);
  core::StopFlag stop;
  int thrown = 0;
  try {
    p.run(src, {}, stop);
  } catch (const Error& e) {
    ++thrown;
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("engine failed on window 3"), std::string::npos);
  }
  EXPECT_EQ(thrown, 1);
  for (RecordingSink* s : {&a, &b}) {
    EXPECT_TRUE(s->finished);
    EXPECT_EQ(s->end.status, core::RunStatus::kFailed);
    EXPECT_NE(s->end.error.find("window 3"), std::string::npos);
    ASSERT_EQ(s->windows.size(), 3u);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(s->windows[k].id, k);
  }
  EXPECT_LT(src.produced.load(), 500);  // the source was stopped early
  EXPECT_EQ(engine.live.load(), 0);
}

TEST(Pipeline, SourceErrorSurfacesOnce) {
  FakeEngine engine(600, 0);
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options());
  ListSource src(500, kSec);
  src.throw_at = 77;
  core::StopFlag stop;
  int thrown = 0;
  try {
    p.run(src, {}, stop);
  } catch (const Error& e) {
    ++thrown;
    EXPECT_NE(std::string(e.what()).find("source broke at frame 77"), std::string::npos);
  }
  EXPECT_EQ(thrown, 1);
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.end.status, core::RunStatus::kFailed);
  EXPECT_EQ(sink.end.frames_sampled, 77);
  EXPECT_EQ(engine.live.load(), 0);
}

TEST(Pipeline, FailingSinkIsAbortedOthersFinished) {
  FakeEngine engine(600, 0);
  RecordingSink good("good"), bad("bad");
  bad.throw_on_window = 1;
  pipeline::VideoPipeline p(engine, {&good, &bad}, options());
  ListSource src(300, kSec);
  core::StopFlag stop;
  int thrown = 0;
  try {
    p.run(src, {}, stop);
  } catch (const Error& e) {
    ++thrown;
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  EXPECT_EQ(thrown, 1);
  EXPECT_TRUE(bad.aborted);
  EXPECT_FALSE(bad.finished);
  EXPECT_TRUE(good.finished);
  EXPECT_EQ(good.end.status, core::RunStatus::kFailed);
  EXPECT_GE(good.windows.size(), 2u);
}

TEST(Pipeline, StopFinishesTheCurrentWindowAndFlushesTheSinks) {
  FakeEngine engine(600, 2);
  core::StopFlag stop;
  engine.on_window = [&](std::int64_t id) {
    if (id == 2) stop.request();
  };
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options(kSec));
  ListSource src(1000, kSec / 2);
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.end.status, core::RunStatus::kStopped);
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.end.status, core::RunStatus::kStopped);
  ASSERT_EQ(sink.windows.size(), 3u);  // 0, 1 and the one running when the stop came
  std::set<std::int64_t> described;
  for (const auto& w : sink.windows) described.insert(w.frame_pts_ns.begin(), w.frame_pts_ns.end());
  EXPECT_EQ(r.stats.frames_described, static_cast<std::int64_t>(described.size()));
  EXPECT_EQ(r.stats.frames_sampled, r.stats.frames_described + r.end.frames_skipped);
  EXPECT_LT(src.produced.load(), 1000);
  EXPECT_EQ(engine.live.load(), 0);
}

TEST(Pipeline, SecondStopAbandonsTheCurrentWindow) {
  FakeEngine engine(600, 0);
  core::StopFlag stop;
  engine.on_window = [&](std::int64_t id) {
    if (id == 2) stop.request(core::StopFlag::kAbandon);
  };
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options());
  ListSource src(1000, kSec);
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.end.status, core::RunStatus::kStopped);
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.windows.size(), 2u);
  EXPECT_GE(r.stats.windows_dropped, 1);
  EXPECT_EQ(r.stats.frames_sampled, r.stats.frames_described + r.end.frames_skipped);
}

TEST(Pipeline, StopBeforeTheFirstFrameWritesEmptyOutputs) {
  FakeEngine engine(600, 0);
  core::StopFlag stop;
  stop.request();
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options());
  ListSource src(10, kSec);
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.end.status, core::RunStatus::kStopped);
  EXPECT_TRUE(sink.finished);
  EXPECT_TRUE(sink.windows.empty());
}

TEST(Pipeline, EmptySourceFailsWithNoWindows) {
  // Nothing described is no success: the run fails and says why (it said "complete").
  FakeEngine engine(600, 0);
  RecordingSink sink;
  pipeline::PipelineOptions o = options();
  o.summary = true;
  pipeline::VideoPipeline p(engine, {&sink}, o);
  ListSource src(0, kSec);
  src.reason = "no video packet could be read";
  core::StopFlag stop;
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.end.status, core::RunStatus::kFailed);
  EXPECT_EQ(r.end.error, "no frame to describe: no video packet could be read");
  EXPECT_TRUE(sink.windows.empty());
  EXPECT_TRUE(r.end.summary.empty());
  EXPECT_TRUE(engine.summary_prompts.empty());
}

TEST(Pipeline, ASourceThatEndedEarlyIsPartialWithItsReasonAndStillSummarised) {
  FakeEngine engine(600, 0);
  RecordingSink sink;
  pipeline::PipelineOptions o = options();
  o.summary = true;
  pipeline::VideoPipeline p(engine, {&sink}, o);
  ListSource src(6, kSec);
  src.reason = "the input ended early after 5 s";
  core::StopFlag stop;
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.end.status, core::RunStatus::kPartial);
  EXPECT_EQ(r.end.error, src.reason);
  EXPECT_FALSE(sink.windows.empty());
  EXPECT_FALSE(r.end.summary.empty());
}

TEST(Pipeline, FramesTooLargeForTheContextAreSkippedAndCounted) {
  FakeEngine engine(/*context=*/300, 0);  // 300 - 64 reserve: the instruction alone nearly fills it
  RecordingSink sink;
  pipeline::VideoPipeline p(engine, {&sink}, options());
  ListSource src(20, kSec, 512, 512);  // 32 x 33 = 1056 tokens each
  core::StopFlag stop;
  const pipeline::RunResult r = p.run(src, {}, stop);
  EXPECT_EQ(r.stats.frames_sampled, 20);
  EXPECT_EQ(r.end.frames_skipped, 20);
  EXPECT_TRUE(sink.windows.empty());
  EXPECT_EQ(engine.live.load(), 0);
}

TEST(Pipeline, SummaryCoversEveryWindow) {
  FakeEngine engine(600, 0);
  RecordingSink sink;
  pipeline::PipelineOptions o = options();
  o.summary = true;
  pipeline::VideoPipeline p(engine, {&sink}, o);
  ListSource src(120, kSec);
  core::StopFlag stop;
  const pipeline::RunResult r = p.run(src, {}, stop);
  ASSERT_FALSE(engine.summary_prompts.empty());
  EXPECT_EQ(r.end.summary, "summary " + std::to_string(engine.summary_prompts.size()));
  EXPECT_EQ(sink.end.summary, r.end.summary);
  // Every frame's event reaches a first-pass summary prompt.
  std::string first_pass;
  for (const std::string& s : engine.summary_prompts) first_pass += s;
  for (int f = 0; f < 120; ++f)
    EXPECT_NE(first_pass.find("frame " + std::to_string(f) + " seen"), std::string::npos) << f;
  for (const std::string& s : engine.summary_prompts)
    EXPECT_LE(engine.text_prompt_tokens(s), 600 - engine.max_answer_tokens());
}

}  // namespace
}  // namespace framescribe
