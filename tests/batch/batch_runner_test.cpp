// The batch runner with a scripted engine, and the search index it feeds (label unit): videos
// run in parallel through one engine, a failing video is recorded and the others go on, a rerun
// skips what is done and retries failures up to max_attempts, and search() returns exactly the
// events the engine was scripted to say, with their videos, times and highlighted snippets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/batch_runner.h"
#include "framescribe/sinks/search_index.h"
#include "framescribe/sinks/sinks.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using namespace pipeline::batch;

// Says, for every frame of a window, "[t-t] <the video's word> seen". The window prompt is
// "{video}|{start}", so the engine knows which video a window is from.
class ScriptedEngine final : public pipeline::WindowEngine {
 public:
  const pipeline::PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame&) const override {
    return std::make_shared<const core::PixelImage>();
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view,
                                  const core::StopFlag&) override {
    if (busy_.exchange(true)) overlapping.fetch_add(1);
    const std::string video = plan.instruction.substr(0, plan.instruction.find('|'));
    pipeline::WindowAnswer a;
    for (const auto& f : plan.frames) {
      const std::string t = testing::hms(f.frame.pts_ns);
      a.text += "[" + t + "-" + t + "] " + word(video) + " seen\n";
    }
    windows.fetch_add(1);
    busy_.store(false);
    return a;
  }
  pipeline::WindowAnswer complete(std::string_view, const core::StopFlag&) override { return {}; }
  std::int64_t max_answer_tokens() const override { return 32; }
  std::int64_t text_prompt_tokens(std::string_view p) const override {
    return 3 + static_cast<std::int64_t>(p.size());
  }
  std::string model_name() const override { return "scripted"; }

  static std::string word(const std::string& video) {
    return video.find("red") != std::string::npos ? "a red car" : "a blue boat";
  }
  std::atomic<int> windows{0};
  std::atomic<int> overlapping{0};

 private:
  testing::FakeCoster coster_{100'000};
  std::atomic<bool> busy_{false};
};

// 3 s apart: farther than the merger's slack, so no event is taken for a repeat of another.
constexpr std::int64_t kInterval = 3'000'000'000;

struct Fixture {
  fs::path dir;
  JobSpec spec;
  std::vector<BatchVideo> videos;
  std::set<std::string> opened;
  std::mutex mu;

  explicit Fixture(const std::string& name) {
    dir = fs::temp_directory_path() / ("fs_batch_runner_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir / "in");
    spec.name = "j";
    spec.settings.outputs.formats = {"jsonl", "srt"};
    int i = 0;
    for (const char* n : {"red1.mp4", "blue1.mp4", "red2.mp4", "broken.mp4", "blue2.mp4"}) {
      BatchVideo v;
      v.job = "j";
      v.input = (dir / "in" / n).string();
      v.identity = "j\n" + v.input;
      v.stem = fs::path(n).stem().string();
      v.out_dir = dir / "out" / v.stem;
      v.spec = &spec;
      v.index = i++;
      std::ofstream(v.input) << "content of " << n;
      videos.push_back(v);
    }
  }

  BatchHooks hooks(sinks::SearchIndex& index) {
    BatchHooks h;
    h.open = [this](const BatchVideo& v, core::StopFlag&, core::RunInfo& info) {
      {
        std::lock_guard lock(mu);
        opened.insert(v.stem);
      }
      if (v.stem == "broken") FS_FAIL(kNotFound, v.input << ": cannot open");
      info.video = v.input;
      return std::unique_ptr<core::FrameSource>(
          std::make_unique<testing::ListSource>(6, kInterval));
    };
    h.sinks = [&index](const BatchVideo& v) {
      VideoSinks s;
      for (const std::string& f : v.spec->settings.outputs.formats) {
        s.sinks.push_back(sinks::make_sink(f, v.out_dir, v.stem, nullptr));
        s.files.push_back(v.out_dir / (v.stem + "." + f));
      }
      s.sinks.push_back(index.sink(fs::path(v.input).filename().string(), v.job));
      return s;
    };
    h.options = [](const BatchVideo& v) {
      pipeline::PipelineOptions o;
      o.packing.prompt_template = "{video}|{start}";
      o.packing.video_name = v.stem;
      o.packing.max_frames_per_window = 2;
      o.packing.answer_reserve_tokens = 32;
      o.summary = false;
      o.threads = 2;
      return o;
    };
    h.sha256 = [](const fs::path& p) {  // a stand-in: the content itself, hex-free is fine here
      std::ifstream in(p, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      return std::to_string(std::hash<std::string>{}(ss.str()));
    };
    return h;
  }
};

TEST(BatchRunner, RunsRecordsFailuresAndResumes) {
  Fixture fx("resume");
  StateStore state(fx.dir / "state.sqlite");
  sinks::SearchIndex index(fx.dir / "index.sqlite");
  ScriptedEngine engine;
  core::StopFlag stop;
  std::vector<BatchProgress> seen;
  const BatchSummary s1 =
      run_batch(fx.videos, state, engine, {.parallel = 3, .max_attempts = 2}, fx.hooks(index), stop,
                [&](const BatchProgress& p) { seen.push_back(p); });
  EXPECT_EQ(s1.final.total, 5);
  EXPECT_EQ(s1.final.done, 4);
  EXPECT_EQ(s1.final.failed, 1);
  EXPECT_FALSE(s1.stopped);
  EXPECT_EQ(engine.overlapping.load(), 0) << "the scheduler runs one window at a time";
  EXPECT_EQ(engine.windows.load(), 4 * 3);  // 6 frames, 2 per window
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done + seen.back().failed, 5);
  for (const BatchVideo& v : fx.videos) {
    const VideoRecord r = *state.get(v.identity);
    if (v.stem == "broken") {
      EXPECT_EQ(r.status, VideoStatus::kFailed);
      EXPECT_EQ(r.attempts, 1);
      EXPECT_NE(r.reason.find("cannot open"), std::string::npos);
    } else {
      EXPECT_EQ(r.status, VideoStatus::kDone) << v.stem;
      ASSERT_EQ(r.outputs.size(), 2u);
      EXPECT_TRUE(fs::exists(r.outputs[0].path));
      EXPECT_FALSE(r.sha256.empty());
    }
  }
  EXPECT_EQ(index.event_count(), 4 * 6);

  // Rerun: the done videos are skipped, the failure is retried once more (max_attempts 2).
  fx.opened.clear();
  const BatchSummary s2 = run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 2},
                                    fx.hooks(index), stop);
  EXPECT_EQ(s2.final.skipped, 4);
  EXPECT_EQ(s2.final.failed, 1);
  EXPECT_EQ(fx.opened, std::set<std::string>{"broken"});
  EXPECT_EQ(state.get(fx.videos[3].identity)->attempts, 2);

  // Third run: given up on; a touched input with the same content is still done; a changed
  // one runs again; nothing is indexed twice.
  fx.opened.clear();
  fs::last_write_time(fx.videos[0].input, fs::file_time_type::clock::now());
  std::ofstream(fx.videos[1].input, std::ios::app) << " changed";
  const BatchSummary s3 = run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 2},
                                    fx.hooks(index), stop);
  EXPECT_EQ(fx.opened, std::set<std::string>{"blue1"});
  EXPECT_EQ(s3.final.skipped, 3);
  EXPECT_EQ(s3.final.done, 1);
  EXPECT_EQ(s3.final.failed, 1);
  EXPECT_EQ(index.event_count(), 4 * 6);
  EXPECT_EQ(state.integrity_check(), "ok");
  EXPECT_EQ(index.integrity_check(), "ok");
}

// An engine per worker (WorkerEngines, as batch --parallel uses on the CPU): asked for once per
// worker, on the calling thread, before any video starts; each used by one video at a time; the
// outputs as with one shared engine. An engine that cannot be made fails the run before any
// video is marked running.
TEST(BatchRunner, EachWorkerHasAnEngineOfItsOwn) {
  Fixture fx("per-worker");
  StateStore state(fx.dir / "state.sqlite");
  sinks::SearchIndex index(fx.dir / "index.sqlite");
  std::vector<std::unique_ptr<ScriptedEngine>> engines;
  std::vector<int> asked;
  const std::thread::id caller = std::this_thread::get_id();
  const WorkerEngines per_worker = [&](int k) -> pipeline::WindowEngine& {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    asked.push_back(k);
    engines.push_back(std::make_unique<ScriptedEngine>());
    return *engines.back();
  };
  core::StopFlag stop;
  const BatchSummary s = run_batch(fx.videos, state, per_worker, {.parallel = 3, .max_attempts = 2},
                                   fx.hooks(index), stop);
  EXPECT_EQ(s.final.done, 4);
  EXPECT_EQ(s.final.failed, 1);
  EXPECT_EQ(asked, (std::vector<int>{0, 1, 2}));
  int windows = 0;
  for (const auto& e : engines) {
    windows += e->windows.load();
    EXPECT_EQ(e->overlapping.load(), 0) << "an engine is its worker's alone, one video at a time";
  }
  EXPECT_EQ(windows, 4 * 3);
  EXPECT_EQ(index.event_count(), 4 * 6);

  // More workers than videos to run: only as many engines as workers that will run.
  Fixture fx2("per-worker-few");
  StateStore state2(fx2.dir / "state.sqlite");
  sinks::SearchIndex index2(fx2.dir / "index.sqlite");
  std::vector<BatchVideo> two(fx2.videos.begin(), fx2.videos.begin() + 2);
  asked.clear();
  engines.clear();
  EXPECT_EQ(run_batch(two, state2, per_worker, {.parallel = 8}, fx2.hooks(index2), stop).final.done,
            2);
  EXPECT_EQ(asked, (std::vector<int>{0, 1}));

  // An engine that cannot be made: the error is run_batch's; no video ran.
  Fixture fx3("per-worker-error");
  StateStore state3(fx3.dir / "state.sqlite");
  sinks::SearchIndex index3(fx3.dir / "index.sqlite");
  const WorkerEngines failing = [](int k) -> pipeline::WindowEngine& {
    FS_FAIL(kOutOfMemory, "no engine for worker " << k);
  };
  EXPECT_THROW(
      {
        try {
          run_batch(fx3.videos, state3, failing, {.parallel = 2}, fx3.hooks(index3), stop);
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
          EXPECT_NE(std::string(e.what()).find("worker 0"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  EXPECT_TRUE(fx3.opened.empty());
  for (const BatchVideo& v : fx3.videos) {
    const auto r = state3.get(v.identity);
    EXPECT_TRUE(!r || r->status != VideoStatus::kRunning) << v.stem;
  }
  // An empty engine function is refused.
  EXPECT_THROW(
      run_batch(fx3.videos, state3, WorkerEngines{}, {.parallel = 2}, fx3.hooks(index3), stop),
      Error);
}

// Progress: first the plan (done earlier, to run), then the videos in progress with their media
// position and duration, and an ETA weighted by duration once some media is done.
TEST(BatchRunner, ProgressSaysWhatIsLeftWithPercentagesAndAnEta) {
  Fixture fx("progress");
  StateStore state(fx.dir / "state.sqlite");
  sinks::SearchIndex index(fx.dir / "index.sqlite");
  ScriptedEngine engine;
  core::StopFlag stop;
  const std::vector<BatchVideo> first(fx.videos.begin(), fx.videos.begin() + 2);
  run_batch(first, state, engine, {.parallel = 2, .max_attempts = 2}, fx.hooks(index), stop);
  std::vector<BatchProgress> seen;
  const BatchSummary s =
      run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 2, .tick_s = 0.01},
                fx.hooks(index), stop, [&](const BatchProgress& p) { seen.push_back(p); });
  EXPECT_EQ(s.final.skipped, 2);
  EXPECT_EQ(s.final.done, 2);
  EXPECT_EQ(s.final.failed, 1);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().change, ProgressChange::kPlanned);
  EXPECT_EQ(seen.front().skipped, 2);
  EXPECT_EQ(seen.front().to_run, 3);
  EXPECT_EQ(seen.front().gave_up, 0);
  EXPECT_EQ(seen.front().done + seen.front().failed + seen.front().running, 0);
  int media = 0, with_eta = 0;
  for (const BatchProgress& p : seen) {
    if (p.change != ProgressChange::kMedia) continue;
    for (const RunningVideo& v : p.current) {
      EXPECT_TRUE(v.name == "red2.mp4" || v.name == "broken.mp4" || v.name == "blue2.mp4")
          << v.name;
      if (v.duration_s < 0) continue;        // not opened yet
      EXPECT_DOUBLE_EQ(v.duration_s, 18.0);  // 6 frames 3 s apart
      EXPECT_LE(v.media_done_s, v.duration_s);
      if (v.media_done_s > 0) ++media;
    }
    if (p.media_done_s > 0 && p.eta_s >= 0 && p.media_left_s > 0) ++with_eta;
  }
  EXPECT_GT(media, 0);
  EXPECT_GT(with_eta, 0);
  EXPECT_EQ(seen.back().change, ProgressChange::kVideo);
  EXPECT_EQ(seen.back().done + seen.back().failed, 3);

  // Rerun: everything decided at the start; the broken video given up on (max_attempts 2).
  seen.clear();
  run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 2}, fx.hooks(index), stop,
            [&](const BatchProgress& p) { seen.push_back(p); });
  seen.clear();
  run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 2}, fx.hooks(index), stop,
            [&](const BatchProgress& p) { seen.push_back(p); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].change, ProgressChange::kPlanned);
  EXPECT_EQ(seen[0].skipped, 4);
  EXPECT_EQ(seen[0].to_run, 0);
  EXPECT_EQ(seen[0].gave_up, 1);
  EXPECT_NE(seen[1].last.find("broken.mp4: gave up"), std::string::npos) << seen[1].last;
}

TEST(SearchIndex, ReturnsTheScriptedEvents) {
  Fixture fx("search");
  const fs::path db = fx.dir / "index.sqlite";
  {
    StateStore state(fx.dir / "state.sqlite");
    sinks::SearchIndex index(db);
    ScriptedEngine engine;
    core::StopFlag stop;
    run_batch(fx.videos, state, engine, {.parallel = 2, .max_attempts = 1}, fx.hooks(index), stop);
  }
  const std::vector<sinks::SearchHit> red = sinks::search(db, "red");
  ASSERT_EQ(red.size(), 12u);  // red1 and red2, 6 frames each
  for (std::size_t i = 0; i < red.size(); ++i) {
    EXPECT_EQ(red[i].video, i < 6 ? "red1.mp4" : "red2.mp4");
    EXPECT_EQ(red[i].start_ns, static_cast<std::int64_t>(i % 6) * kInterval);
    EXPECT_EQ(red[i].end_ns, red[i].start_ns);
    EXPECT_EQ(red[i].text, "a red car seen");
    EXPECT_EQ(red[i].snippet, "a [red] car seen");
    EXPECT_EQ(red[i].job, "j");
  }
  const auto one = sinks::search(db, "boat", {.video = "blue2.mp4"});
  ASSERT_EQ(one.size(), 6u);
  for (const auto& h : one) EXPECT_EQ(h.video, "blue2.mp4");
  EXPECT_EQ(
      sinks::search(db, "\"blue boat\" AND seen", {.video = "", .fts = true, .limit = 3}).size(),
      3u);
  EXPECT_EQ(sinks::search(
                db, "car*",
                {.video = "", .fts = true, .limit = 100, .mark_open = "<", .mark_close = ">"})[0]
                .snippet,
            "a red <car> seen");
  EXPECT_TRUE(sinks::search(db, "giraffe").empty());
  EXPECT_THROW(sinks::search(db, "\"unclosed", {.video = "", .fts = true}), Error);
  EXPECT_TRUE(sinks::search(db, "\"unclosed").empty());  // plain text: no syntax to get wrong
  EXPECT_THROW(sinks::search(fx.dir / "none.sqlite", "red"), Error);
}

TEST(SearchIndex, MergeReplacesPerVideo) {
  Fixture fx("merge");
  {
    sinks::SearchIndex a(fx.dir / "a.sqlite");
    a.replace_events("v1", "j", {{.start_ns = 0, .end_ns = 1, .text = "old text"}});
    sinks::SearchIndex b(fx.dir / "b.sqlite");
    b.replace_events("v1", "j", {{.start_ns = 0, .end_ns = 1, .text = "new text"}});
    b.replace_events("v2", "j", {{.start_ns = 5, .end_ns = 6, .text = "other"}});
  }
  sinks::SearchIndex m(fx.dir / "a.sqlite");
  m.merge_from(fx.dir / "b.sqlite");
  m.merge_from(fx.dir / "b.sqlite");
  EXPECT_EQ(m.event_count(), 2);
  EXPECT_TRUE(sinks::search(fx.dir / "a.sqlite", "old").empty());
  EXPECT_EQ(sinks::search(fx.dir / "a.sqlite", "new").size(), 1u);
}

// A run stopped part-way (SIGTERM, scancel) leaves its video pending in the state file: its
// events so far must not reach the index either, or a merge then held events of a video it
// reports not done (tests/slurm/slurm_array_test.py cancels a Slurm task mid-video). The
// video's earlier events are left as they were.
TEST(SearchIndex, AStoppedRunIndexesNothing) {
  Fixture fx("stopped");
  sinks::SearchIndex index(fx.dir / "index.sqlite");
  index.replace_events("v.mp4", "j", {{.start_ns = 0, .end_ns = 1, .text = "earlier run"}});
  core::RunInfo info;
  info.video = "v.mp4";
  core::WindowResult w;
  w.events = {{.start_ns = 0, .end_ns = 1, .text = "a red car"}};
  for (const core::RunStatus status : {core::RunStatus::kStopped, core::RunStatus::kFailed}) {
    std::unique_ptr<core::EventSink> sink = index.sink("v.mp4", "j");
    sink->begin(info);
    sink->on_window(w);
    core::RunEnd end;
    end.status = status;
    sink->finish(end);
    EXPECT_EQ(index.event_count(), 1);
    EXPECT_EQ(sinks::search(fx.dir / "index.sqlite", "earlier").size(), 1u);
  }
  std::unique_ptr<core::EventSink> sink = index.sink("v.mp4", "j");
  sink->begin(info);
  sink->on_window(w);
  sink->finish({});  // complete: the video's events are replaced
  EXPECT_EQ(index.event_count(), 1);
  EXPECT_EQ(sinks::search(fx.dir / "index.sqlite", "red").size(), 1u);
}

}  // namespace
}  // namespace framescribe
