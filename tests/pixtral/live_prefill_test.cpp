// A live job on the Pixtral window engine with frames prefilled ahead (issue 24, "hopping"
// windows): the demo model (CPU engine), frames FFmpeg decodes from samples/shapes-demo.mp4 fed
// as a live stream, windows longer than the interval (they slide), two alert questions. The
// descriptions and every alert score are the same bit for bit with prefill ahead, without it,
// without any prefix reuse, and for two streams at once on one SharedModel (a step-scheduler
// client each); with it, part of the prefill runs while the stream waits for its next frames.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/live/live_job.h"
#include "framescribe/pixtral/shared_model.h"
#include "framescribe/pixtral/window_engine.h"

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

const std::string kDemo = (fs::path(FS_SOURCE_DIR) / "samples/models/framescribe-demo").string();
const std::string kClip = (fs::path(FS_SOURCE_DIR) / "samples/shapes-demo.mp4").string();

// The clip at 1 fps (every 10th frame), 64 x 64, as a live stream; `before_frame` runs before
// each frame is handed out (a camera's wait for its next frame).
class ClipLiveSource final : public core::LiveFrameSource {
 public:
  explicit ClipLiveSource(std::function<void()> before_frame)
      : before_frame_(std::move(before_frame)) {
    auto src = decoder::FfmpegSource::open(kClip, {});
    for (int i = 0; std::optional<decoder::DecodedFrame> f = src->next(); ++i)
      if (i % 10 == 0) frames_.push_back(src->convert(*f, core::TargetSize{64, 64, 16}));
  }
  std::optional<core::LiveItem> next(std::chrono::milliseconds) override {
    if (i_ >= frames_.size()) return std::nullopt;
    if (before_frame_) before_frame_();
    core::LiveItem item;
    item.frame = frames_[i_++];
    return item;
  }
  std::size_t size() const { return frames_.size(); }

 private:
  std::vector<core::Frame> frames_;
  std::size_t i_ = 0;
  std::function<void()> before_frame_;
};

class Descriptions final : public core::EventSink {
 public:
  std::string_view name() const override { return "test"; }
  void begin(const core::RunInfo&) override {}
  void on_window(const core::WindowResult& w) override {
    std::lock_guard lock(mu);
    answers.push_back(w.answer + " | " + w.prompt_hash);
  }
  void finish(const core::RunEnd&) override {}
  void abort() noexcept override {}
  std::mutex mu;
  std::vector<std::string> answers;
};

// Forwards to the engine, counts the calls in progress (`busy`, shared) and records every alert
// score.
class Tracked final : public pipeline::WindowEngine {
 public:
  Tracked(pipeline::WindowEngine& e, std::atomic<int>& busy) : e_(e), busy_(busy) {}
  const pipeline::PromptCoster& coster() const override { return e_.coster(); }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& f) const override {
    return e_.prepare(f);
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& p, std::string_view prev,
                                  const core::StopFlag& stop) override {
    const Busy b(busy_);
    return e_.describe(p, prev, stop);
  }
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override {
    return e_.complete(prompt, stop);
  }
  std::int64_t max_answer_tokens() const override { return e_.max_answer_tokens(); }
  std::int64_t text_prompt_tokens(std::string_view p) const override {
    return e_.text_prompt_tokens(p);
  }
  std::string model_name() const override { return e_.model_name(); }
  void prefill(const pipeline::WindowPlan& partial, const core::StopFlag& stop) override {
    const Busy b(busy_);
    e_.prefill(partial, stop);
  }
  std::vector<std::vector<double>> answer_probabilities_batch(
      const pipeline::WindowPlan& plan, std::span<const pipeline::AlertQuestion> qs,
      const core::StopFlag& stop) override {
    const Busy b(busy_);
    std::vector<std::vector<double>> r = e_.answer_probabilities_batch(plan, qs, stop);
    scores.push_back(r);
    return r;
  }
  std::vector<std::vector<std::vector<double>>> scores;  // per window, per question

 private:
  struct Busy {
    explicit Busy(std::atomic<int>& n) : n_(n) { ++n_; }
    ~Busy() { --n_; }
    std::atomic<int>& n_;
  };
  pipeline::WindowEngine& e_;
  std::atomic<int>& busy_;
};

struct LiveRun {
  std::vector<std::string> answers;
  std::vector<std::vector<std::vector<double>>> scores;
  fp::PixtralEngineStats stats;
  std::int64_t windows = 0;
};

fi::EngineOptions engine_options() {
  fi::EngineOptions eo = fi::engine_options(fi::EngineChoice{});
  eo.n_threads = 1;
  return eo;
}

fp::PixtralWindowOptions window_options(bool reuse) {
  fp::PixtralWindowOptions wo;
  wo.max_answer_tokens = 16;
  wo.model_name = "demo";
  wo.reuse_prefix = reuse;
  wo.fork_questions = false;
  return wo;
}

std::unique_ptr<fp::PixtralWindowEngine> own_engine(bool reuse) {
  const fi::EngineChoice choice;
  return std::make_unique<fp::PixtralWindowEngine>(
      fi::load_config(kDemo, choice), fi::Tokenizer::load(fi::find_tokenizer(kDemo)),
      fi::load_engine(kDemo, engine_options()), window_options(reuse));
}

LiveRun run_live(fp::PixtralWindowEngine& engine, bool ahead) {
  std::atomic<int> busy{0};
  Tracked describe(engine, busy), alerts(engine, busy);
  pipeline::LiveOptions o;
  o.every_ns = 3'000'000'000;
  o.window_ns = 5'000'000'000;  // longer than the interval: windows slide
  o.sample_interval_ns = 1'000'000'000;
  o.wait_for_engine = true;
  o.prefill_ahead = ahead;
  o.alerts.push_back({.name = "circle", .question = "Is there a circle? Answer yes or no."});
  o.alerts.push_back({.name = "yellow", .question = "Is anything yellow? Answer yes or no."});
  Descriptions sink;
  pipeline::LiveJob job("clip", describe, &alerts, o, {&sink}, nullptr);
  // Ahead: the next frame comes once the engine has been idle for 30 ms (a camera's second
  // between frames, without a fixed delay that a slow machine could outrun); otherwise as fast
  // as the engine goes (wait_for_engine: the same windows).
  ClipLiveSource source(ahead ? std::function<void()>([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto idle_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (busy.load() != 0) idle_since = std::chrono::steady_clock::now();
      if (std::chrono::steady_clock::now() - idle_since > std::chrono::milliseconds(30)) return;
    }
  })
                              : std::function<void()>());
  core::StopFlag stop;
  job.run(source, core::RunInfo{}, stop);
  return {sink.answers, alerts.scores, engine.stats(), job.stats().windows_done};
}

TEST(PixtralLivePrefill, FramesPrefilledAheadChangeNoAnswerAndRunBeforeTheWindow) {
  const LiveRun plain = run_live(*own_engine(false), false),
                reuse = run_live(*own_engine(true), false),
                ahead = run_live(*own_engine(true), true);
  // Two streams of the same clip at once, each window engine a client of one step scheduler
  // (its own sequence: its prefilled frames stay while the other stream runs).
  std::unique_ptr<fp::SharedModel> model =
      fp::SharedModel::load(kDemo, fi::EngineChoice{}, engine_options(), {.clients = 2});
  ASSERT_NE(model, nullptr);
  LiveRun shared[2];
  {
    auto e0 = model->window_engine("cam0", 0, window_options(true));
    auto e1 = model->window_engine("cam1", 0, window_options(true));
    std::thread t([&] { shared[1] = run_live(*e1, true); });
    shared[0] = run_live(*e0, true);
    t.join();
  }
  ASSERT_GE(plain.windows, 4);
  for (const LiveRun* r :
       std::initializer_list<const LiveRun*>{&reuse, &ahead, &shared[0], &shared[1]}) {
    EXPECT_EQ(r->windows, plain.windows);
    EXPECT_EQ(r->answers, plain.answers);
    ASSERT_EQ(r->scores.size(), plain.scores.size());
    for (std::size_t w = 0; w < plain.scores.size(); ++w) {
      ASSERT_EQ(r->scores[w].size(), 2u);
      for (std::size_t q = 0; q < 2; ++q) {
        ASSERT_EQ(r->scores[w][q].size(), plain.scores[w][q].size());
        EXPECT_EQ(std::memcmp(r->scores[w][q].data(), plain.scores[w][q].data(),
                              plain.scores[w][q].size() * sizeof(double)),
                  0)
            << "window " << w << " question " << q;
      }
    }
    EXPECT_EQ(r->stats.prompt_tokens, plain.stats.prompt_tokens);
  }
  EXPECT_EQ(plain.stats.prefilled_tokens, plain.stats.prompt_tokens);
  EXPECT_EQ(reuse.stats.early_prefilled_tokens, 0);
  EXPECT_LT(reuse.stats.prefilled_tokens, plain.stats.prefilled_tokens);
  // Ahead: part of the prefill ran before the windows were due, and the windows' own prefill
  // (what the stream waits for) is smaller than with reuse alone.
  EXPECT_GT(ahead.stats.early_prefilled_tokens, 0);
  EXPECT_LT(ahead.stats.prefilled_tokens - ahead.stats.early_prefilled_tokens,
            reuse.stats.prefilled_tokens);
  for (const LiveRun& r : shared) {
    EXPECT_GT(r.stats.early_prefilled_tokens, 0);
    EXPECT_LT(r.stats.prefilled_tokens - r.stats.early_prefilled_tokens,
              reuse.stats.prefilled_tokens);
  }
  std::printf(
      "prefilled tokens per window (%lld windows, 2 alerts): no reuse %.1f, prefix reuse "
      "%.1f, with frames ahead %.1f at window time + %.1f ahead\n",
      static_cast<long long>(plain.windows),
      static_cast<double>(plain.stats.prefilled_tokens) / plain.windows,
      static_cast<double>(reuse.stats.prefilled_tokens) / plain.windows,
      static_cast<double>(ahead.stats.prefilled_tokens - ahead.stats.early_prefilled_tokens) /
          plain.windows,
      static_cast<double>(ahead.stats.early_prefilled_tokens) / plain.windows);
  for (const LiveRun& r : shared)
    std::printf("a stream of two on one shared model: %.1f at window time + %.1f ahead\n",
                static_cast<double>(r.stats.prefilled_tokens - r.stats.early_prefilled_tokens) /
                    plain.windows,
                static_cast<double>(r.stats.early_prefilled_tokens) / plain.windows);
}

}  // namespace
