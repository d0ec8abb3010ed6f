#include "shared_engines.h"

#include <cstdio>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pixtral/load_window_engine.h"

namespace framescribe::apps {

SharedEngines::SharedEngines(const std::string& model_dir, const inference::EngineChoice& choice,
                             const inference::EngineOptions& engine,
                             const pixtral::PixtralWindowOptions& window,
                             const SharedEnginesOptions& options)
    : window_(window) {
  FS_CHECK(options.step_tokens >= 0, kInvalidArgument,
           "--step-tokens must be >= 0 (0: one call at a time), got " << options.step_tokens);
  FS_CHECK(options.clients >= 1, kInvalidArgument,
           "shared engines need at least one client, got " << options.clients);
  if (options.step_tokens > 0) {
    pixtral::SharedModelOptions so;
    so.clients = options.clients;
    so.context_tokens = window.context_tokens;
    so.scheduler.step_tokens = options.step_tokens;
    shared_ = pixtral::SharedModel::load(model_dir, choice, engine, so);
    if (!shared_)
      FS_LOG_DEBUG(
          "this device has no multi-sequence engine: the engine is shared one call at a "
          "time (--step-tokens has no effect)");
  }
  if (shared_) {
    FS_LOG_DEBUG("engine shared in batched steps of at most "
                 << options.step_tokens << " rows by up to " << options.clients << " clients");
    return;
  }
  single_ = pixtral::load_window_engine(model_dir, choice, engine, window);
  calls_ = std::make_unique<pipeline::EngineScheduler>(*single_);
}

SharedEngines::~SharedEngines() = default;

pipeline::WindowEngine& SharedEngines::engine(const std::string& name, int priority) {
  std::lock_guard lock(mu_);
  if (shared_) {
    engines_.push_back(shared_->window_engine(name, 0, window_));
    return *engines_.back();
  }
  clients_.push_back(calls_->client(name, priority));
  return *clients_.back();
}

pixtral::PixtralEngineStats SharedEngines::reuse_stats() const {
  if (single_) return single_->stats();
  std::lock_guard lock(mu_);
  pixtral::PixtralEngineStats sum;
  for (const auto& e : engines_) {
    const pixtral::PixtralEngineStats s = e->stats();
    sum.prompts += s.prompts;
    sum.alert_questions += s.alert_questions;
    sum.forked_questions += s.forked_questions;
    sum.prompt_tokens += s.prompt_tokens;
    sum.prefilled_tokens += s.prefilled_tokens;
    sum.reused_tokens += s.reused_tokens;
    sum.approx_reused_tokens += s.approx_reused_tokens;
    sum.early_prefilled_tokens += s.early_prefilled_tokens;
    sum.frames += s.frames;
    sum.frames_encoded += s.frames_encoded;
    sum.encoder_calls += s.encoder_calls;
    sum.frame_cache_entries += s.frame_cache_entries;
    sum.frame_cache_bytes += s.frame_cache_bytes;
  }
  return sum;
}

std::optional<inference::StepSchedulerStats> SharedEngines::scheduler_stats() const {
  if (!shared_) return std::nullopt;
  return shared_->stats();
}

std::string scheduler_line(const inference::StepSchedulerStats& s) {
  char buf[256];
  const double per_step = s.steps > 0 ? static_cast<double>(s.rows) / s.steps : 0.0;
  std::snprintf(buf, sizeof buf,
                "%lld steps, %.1f rows a step (at most %lld rows, %lld calls), %lld preemptions, "
                "%lld tokens recomputed",
                static_cast<long long>(s.steps), per_step, static_cast<long long>(s.max_step_rows),
                static_cast<long long>(s.max_step_calls), static_cast<long long>(s.preemptions),
                static_cast<long long>(s.recomputed_tokens));
  return buf;
}

}  // namespace framescribe::apps
