// Fakes for the pipeline's interfaces: frames from a list, an engine with random latency that
// answers in the prompt's own format, and a sink that records what it is given. Independent of
// the code under test: costs are computed here from first principles (one token per byte of
// text, rows x (cols + 1) per image).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/image.h"
#include "framescribe/core/sink.h"
#include "framescribe/pipeline/interfaces.h"

namespace framescribe::testing {

inline std::string hms(std::int64_t ns) {  // written independently of core::format_timestamp
  const std::int64_t tenths = (ns + 50'000'000) / 100'000'000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld.%lld", static_cast<long long>(tenths / 600),
                static_cast<long long>((tenths / 10) % 60), static_cast<long long>(tenths % 10));
  return buf;
}

class FakeCoster final : public pipeline::PromptCoster {
 public:
  explicit FakeCoster(std::int64_t context) : context_(context) {}
  std::int64_t text_tokens(std::string_view text) const override {
    return static_cast<std::int64_t>(text.size());
  }
  std::int64_t image_tokens(int w, int h) const override { return (h / 16) * (w / 16 + 1); }
  std::int64_t fixed_tokens() const override { return 3; }
  std::int64_t context_tokens() const override { return context_; }

 private:
  std::int64_t context_;
};

// n frames of w x h at `interval_ns`; optionally throws at frame `throw_at`.
class ListSource final : public core::FrameSource {
 public:
  ListSource(std::int64_t n, std::int64_t interval_ns, int w = 32, int h = 32)
      : n_(n), interval_ns_(interval_ns), w_(w), h_(h) {}
  std::optional<core::Frame> next() override {
    if (stopped_.load() || i_ >= n_) return std::nullopt;
    if (i_ == throw_at) FS_FAIL(kIo, "source broke at frame " << i_);
    if (on_frame) on_frame(i_);
    core::Frame f;
    auto img = std::make_shared<core::Image>(w_, h_, core::PixelFormat::kRgb8);
    f.image = std::move(img);
    f.pts_ns = i_ * interval_ns_;
    f.index = i_;
    ++i_;
    produced.fetch_add(1);
    return f;
  }
  void request_stop() override { stopped_.store(true); }
  std::int64_t end_ns() const override { return n_ * interval_ns_; }
  std::string incomplete_reason() const override { return reason; }

  std::int64_t throw_at = -1;
  std::string reason;  // incomplete_reason(): set, the input "ended early"
  std::function<void(std::int64_t)> on_frame;
  std::atomic<std::int64_t> produced{0};

 private:
  std::int64_t n_, interval_ns_;
  int w_, h_;
  std::int64_t i_ = 0;
  std::atomic<bool> stopped_{false};
};

// Counts live prepared payloads: a frame is "in flight" from prepare() until the pipeline drops
// its payload (after the last window using it).
struct Payload : core::PixelImage {
  explicit Payload(std::atomic<std::int64_t>* live, std::atomic<std::int64_t>* peak) : live_(live) {
    const std::int64_t now = live_->fetch_add(1) + 1;
    std::int64_t p = peak->load();
    while (now > p && !peak->compare_exchange_weak(p, now)) {
    }
  }
  ~Payload() { live_->fetch_sub(1); }
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  std::atomic<std::int64_t>* live_;
};

class FakeEngine final : public pipeline::WindowEngine {
 public:
  FakeEngine(std::int64_t context, int max_latency_ms, std::uint32_t seed = 1)
      : coster_(context), max_latency_ms_(max_latency_ms), rng_(seed) {}
  const pipeline::PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame&) const override {
    std::this_thread::sleep_for(std::chrono::microseconds(prepare_us));
    return std::make_shared<const Payload>(&live, &peak_live);
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view,
                                  const core::StopFlag& stop) override {
    if (busy_.exchange(true)) concurrent_calls.fetch_add(1);
    struct Clear {
      std::atomic<bool>& b;
      ~Clear() { b.store(false); }
    } clear{busy_};
    for (const auto& f : plan.frames)
      if (!f.pixels) unprepared_frames.fetch_add(1);
    if (on_window) on_window(plan.id);
    if (plan.id == throw_at) FS_FAIL(kInternal, "engine failed on window " << plan.id);
    int ms = 0;
    {
      std::lock_guard lock(mu_);
      ms = max_latency_ms_ > 0 ? std::uniform_int_distribution<int>(0, max_latency_ms_)(rng_) : 0;
      plans.push_back(plan);
      for (auto& f : plans.back().frames) f.pixels.reset();  // keep no payload alive
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    pipeline::WindowAnswer a;
    if (stop.level() >= core::StopFlag::kAbandon) {
      a.abandoned = true;
      return a;
    }
    // One event per frame, in the format the default prompt asks for.
    for (std::size_t i = 0; i < plan.frames.size(); ++i) {
      const std::int64_t t = plan.frames[i].frame.pts_ns;
      a.text +=
          "[" + hms(t) + "-" + hms(t) + "] frame " + std::to_string(plan.frames[i].seq) + " seen\n";
    }
    a.prompt_tokens = plan.planned_tokens;
    a.answer_tokens = 10;
    a.prompt_hash = "0123456789abcdef";
    return a;
  }
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag&) override {
    std::lock_guard lock(mu_);
    summary_prompts.emplace_back(prompt);
    pipeline::WindowAnswer a;
    a.text = "summary " + std::to_string(summary_prompts.size());
    return a;
  }
  std::int64_t max_answer_tokens() const override { return answer_tokens; }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override {
    return 3 + static_cast<std::int64_t>(prompt.size());
  }
  std::string model_name() const override { return "fake"; }

  std::int64_t answer_tokens = 64;
  std::int64_t throw_at = -1;
  int prepare_us = 0;
  std::function<void(std::int64_t)> on_window;
  std::vector<pipeline::WindowPlan> plans;
  std::vector<std::string> summary_prompts;
  std::atomic<int> concurrent_calls{0};
  std::atomic<int> unprepared_frames{0};
  mutable std::atomic<std::int64_t> live{0}, peak_live{0};

 private:
  FakeCoster coster_;
  int max_latency_ms_;
  std::mt19937 rng_;
  std::mutex mu_;
  std::atomic<bool> busy_{false};
};

// Records every call; flags calls out of order or overlapping.
class RecordingSink final : public core::EventSink {
 public:
  explicit RecordingSink(std::string name = "rec") : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  void begin(const core::RunInfo& run) override {
    enter();
    calls.push_back("begin");
    info = run;
    leave();
  }
  void on_window(const core::WindowResult& w) override {
    enter();
    calls.push_back("window");
    if (throw_on_window == static_cast<std::int64_t>(windows.size())) {
      leave();
      FS_FAIL(kIo, "sink " << name_ << " cannot write");
    }
    core::WindowResult copy = w;
    copy.frames.clear();  // keep no pixels
    windows.push_back(std::move(copy));
    leave();
  }
  void finish(const core::RunEnd& e) override {
    enter();
    calls.push_back("finish");
    end = e;
    finished = true;
    leave();
  }
  void abort() noexcept override {
    calls.push_back("abort");
    aborted = true;
  }

  std::vector<std::string> calls;
  std::vector<core::WindowResult> windows;
  core::RunInfo info;
  core::RunEnd end;
  bool finished = false, aborted = false;
  std::int64_t throw_on_window = -1;
  std::atomic<int> overlapping{0};

 private:
  void enter() {
    if (inside_.exchange(true)) overlapping.fetch_add(1);
  }
  void leave() { inside_.store(false); }
  std::string name_;
  std::atomic<bool> inside_{false};
};

}  // namespace framescribe::testing
