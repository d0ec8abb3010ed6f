#include "model_defaults.h"

#include <cstdio>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"

namespace framescribe::apps {

void add_model_option(CLI::App* cmd, std::string* model) {
  cmd->add_option("-m,--model", *model,
                  "Model directory (either layout, with its tokenizer); default: "
                  "$FRAMESCRIBE_MODEL, else the bundled demo model (synthetic shapes only)")
      ->check(CLI::ExistingDirectory);
}

void add_engine_choice_options(CLI::App* cmd, EngineChoice* choice) {
  cmd->add_option("--device", choice->device, "Engine: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--load-format", choice->load_format,
                  "checkpoint, or dummy: random weights of the model's sizes, only its config "
                  "and tokenizer are read (speed and memory checks; the text is meaningless)")
      ->check(CLI::IsMember({"checkpoint", "dummy"}))
      ->capture_default_str();
}

void add_engine_options(CLI::App* cmd, ModelRequest* r) {
  add_engine_choice_options(cmd, &r->engine);
  cmd->add_option("-t,--threads,--engine-threads", r->threads, "CPU engine threads (0: all)")
      ->check(number_range(0, 1024));
}

void add_context_option(CLI::App* cmd, std::int64_t* context) {
  cmd->add_option("--context", *context, "Context tokens to use (default: the model's, 128k)")
      ->check(CLI::NonNegativeNumber);
}

void add_sampling_options(CLI::App* cmd, inference::SamplingParams* s) {
  cmd->add_option("--temperature", s->temperature, "Sampling temperature (0: greedy)")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 10.0f));
  // The sampler takes (0, 1]: 0 would fail at the first answer, not here (exit 2).
  cmd->add_option("--top-p", s->top_p, "Nucleus sampling: keep tokens up to this probability")
      ->capture_default_str()
      ->check(number_range(0, 1, /*lo_open=*/true));
  cmd->add_option("--seed", s->seed, "Sampling seed")->capture_default_str();
}

void add_step_tokens_option(CLI::App* cmd, std::int64_t* step_tokens) {
  cmd->add_option("--step-tokens", *step_tokens,
                  "How streams/videos share the engine: tokens per batched engine step, their "
                  "decodes and prefill chunks together (continuous batching; the CPU engine). "
                  "0: one whole call at a time (the sharing before batching; also what devices "
                  "without a multi-sequence engine, CUDA, always do). Answers are the same; "
                  "only speed and latency differ")
      ->capture_default_str()
      ->check(number_range(0, 1 << 20));
}

void add_approximate_reuse_option(CLI::App* cmd, bool* on) {
  cmd->add_flag("--approximate-reuse", *on,
                "Opt-in, approximate: when a window slides, keep the cached frames it shares "
                "with the previous one, shifted to their new positions (as llama.cpp's context "
                "shift), instead of prefilling them again. Faster, but ANSWERS MAY CHANGE "
                "against recomputation; the measured change rates are in inference/README.md, "
                "\"Approximate reuse\". Engines without it (CUDA) warn and reuse exactly");
}

void note_given_options(const CLI::App& cmd, ModelRequest* r) {
  const auto given = [&cmd](const char* name) {
    const CLI::Option* o = cmd.get_option_no_throw(name);
    return o != nullptr && o->count() > 0;
  };
  for (const char* name : {"--fps", "--every", "--keyframes", "--scene"})
    r->sampling_given |= given(name);
  for (const char* name : {"--max-edge", "--max-frame-tokens"}) r->size_given |= given(name);
  r->max_tokens_given |= given("--max-tokens");
}

ModelSettings resolve_model_settings(const ModelRequest& r, VideoOptions* video, int* max_tokens) {
  const ModelSettings s = inference::resolve_model_settings(r);
  // The model's rate, else one frame per second: the other modes are the user's choice only.
  if (video != nullptr)
    video->apply_recommended(s.recommended.fps.value_or(kDefaultFps),
                             s.recommended.max_edge.value_or(kDefaultMaxEdge), r.sampling_given,
                             r.size_given);
  if (max_tokens != nullptr && !r.max_tokens_given)
    *max_tokens = s.recommended.max_tokens.value_or(kDefaultMaxTokens);
  return s;
}

void add_planning_model_option(CLI::App* cmd, std::string* model) {
  cmd->add_option("-m,--model", *model,
                  "Plan with this model's recommended settings (framescribe.json), as summarize "
                  "does; default: $FRAMESCRIBE_MODEL, else the bundled demo model")
      ->check(CLI::ExistingDirectory);
}

PlannedSampling planned_sampling(const CLI::App& cmd, const std::string& model,
                                 VideoOptions* video) {
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  ModelRequest r;
  r.model = model;
  r.model_required = !model.empty();
  note_given_options(cmd, &r);
  (void)resolve_model_settings(r, video, nullptr);
  PlannedSampling p;
  check_usage([&] {
    p.sampling = video->sampling();
    p.sizing = video->sizing();
  });
  return p;
}

void print_demo_model_notice(const ModelSettings& s, const char* inputs) {
  if (core::log_level() >= core::LogLevel::kError) return;  // -q: errors only
  std::fputs(inference::demo_model_notice(s, inputs).c_str(), stderr);
}

}  // namespace framescribe::apps
