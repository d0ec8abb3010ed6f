// Fakes for the live job: a scripted stream (frames and gaps from a list) and an engine whose
// answer probabilities come from a script, recording the order of its calls.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "framescribe/pipeline/live/live_job.h"
#include "pipeline/fakes.h"

namespace framescribe::testing {

class ScriptedLiveSource final : public core::LiveFrameSource {
 public:
  // n frames, pts 0, step, 2*step, ...; `real_delay` between them; a gap before frame gap_at.
  ScriptedLiveSource(int n, std::int64_t step_ns, std::chrono::microseconds real_delay = {},
                     int gap_at = -1)
      : n_(n), step_ns_(step_ns), delay_(real_delay), gap_at_(gap_at) {}
  std::optional<core::LiveItem> next(std::chrono::milliseconds) override {
    if (i_ >= n_) return std::nullopt;
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    core::LiveItem item;
    if (i_ == gap_at_ && !gap_sent_) {
      gap_sent_ = true;
      item.gap = core::StreamGap{1, 2, (i_ - 1) * step_ns_, i_ * step_ns_, "test outage"};
      return item;
    }
    core::Frame f;
    f.image = std::make_shared<core::Image>(32, 32, core::PixelFormat::kRgb8);
    f.pts_ns = i_ * step_ns_;
    f.wall_clock_ns = 1'700'000'000'000'000'000 + f.pts_ns;
    f.index = i_;
    ++i_;
    item.frame = std::move(f);
    return item;
  }

 private:
  int n_;
  std::int64_t step_ns_;
  std::chrono::microseconds delay_;
  int gap_at_;
  int i_ = 0;
  bool gap_sent_ = false;
};

class ScriptedEngine final : public pipeline::WindowEngine {
 public:
  explicit ScriptedEngine(std::vector<double> yes_probs = {}, int describe_ms = 0)
      : coster_(100000), yes_(yes_probs.begin(), yes_probs.end()), describe_ms_(describe_ms) {}
  const pipeline::PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame&) const override {
    return std::make_shared<const core::PixelImage>();
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view,
                                  const core::StopFlag&) override {
    if (describe_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(describe_ms_));
    std::lock_guard lock(mu_);
    calls.push_back("describe " + std::to_string(plan.id));
    plans.push_back(plan);
    pipeline::WindowAnswer a;
    a.text =
        "[" + hms(plan.start_ns) + "-" + hms(plan.end_ns) + "] window " + std::to_string(plan.id);
    return a;
  }
  std::vector<double> answer_probabilities(const pipeline::WindowPlan& plan,
                                           std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag&) override {
    std::lock_guard lock(mu_);
    calls.push_back("ask " + std::to_string(plan.id) + " " + std::string(question));
    const double p = yes_.empty() ? 0.0 : yes_.front();
    if (!yes_.empty()) yes_.pop_front();
    std::vector<double> out(answers.size(), (1 - p) / static_cast<double>(answers.size() - 1));
    out[0] = p;
    return out;
  }
  pipeline::WindowAnswer complete(std::string_view, const core::StopFlag&) override { return {}; }
  std::int64_t max_answer_tokens() const override { return 64; }
  std::int64_t text_prompt_tokens(std::string_view p) const override {
    return 3 + static_cast<std::int64_t>(p.size());
  }
  std::string model_name() const override { return "scripted"; }

  std::vector<std::string> calls;
  std::vector<pipeline::WindowPlan> plans;

 private:
  FakeCoster coster_;
  std::deque<double> yes_;
  int describe_ms_;
  std::mutex mu_;
};

class RecordingObserver final : public pipeline::LiveObserver {
 public:
  void on_window(const std::string&, const core::WindowResult& w, double latency,
                 std::int64_t wall_clock_ns) override {
    std::lock_guard lock(mu);
    windows.push_back(w.id);
    latencies.push_back(latency);
    wall_clocks.push_back(wall_clock_ns);
    newest_pts.push_back(w.frame_pts_ns.empty() ? -1 : w.frame_pts_ns.back());
  }
  void on_alert(const core::Alert& a) override {
    std::lock_guard lock(mu);
    alerts.push_back(a);
  }
  void on_gap(const std::string&, const core::StreamGap& g) override {
    std::lock_guard lock(mu);
    gaps.push_back(g);
  }
  std::mutex mu;
  std::vector<std::int64_t> windows;
  std::vector<double> latencies;
  std::vector<std::int64_t> wall_clocks, newest_pts;  // per window: its newest frame's
  std::vector<core::Alert> alerts;
  std::vector<core::StreamGap> gaps;
};

}  // namespace framescribe::testing
