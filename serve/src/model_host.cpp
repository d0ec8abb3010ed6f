#include <algorithm>
#include <chrono>
#include <string_view>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pixtral/shared_model.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

ModelHost::ModelHost() = default;

ModelHost::~ModelHost() {
  slots.clear();  // the scheduler's clients before the scheduler
  shared.reset();
}

inference::Engine& ModelHost::engine_for(const EngineGate::Lease& lease) {
  if (slots.empty()) {
    FS_CHECK(engine != nullptr, kInvalidArgument, "the model is not loaded");
    return *engine;
  }
  FS_CHECK(lease.slot() >= 0 && lease.slot() < static_cast<int>(slots.size()), kInvalidArgument,
           "slot " << lease.slot() << " of " << slots.size());
  return *slots[static_cast<std::size_t>(lease.slot())];
}

std::optional<inference::StepSchedulerStats> ModelHost::scheduler_stats() const {
  if (!loaded.load() || !shared) return std::nullopt;
  return shared->stats();
}

bool ModelHost::serves(const std::string& requested) const {
  if (requested.empty()) return true;
  // Ollama's default tag names the one model served; another tag is another model (404).
  constexpr std::string_view kLatest = ":latest";
  std::string n = requested;
  if (n.size() > kLatest.size() && n.ends_with(kLatest)) n.resize(n.size() - kLatest.size());
  return n == name || (!dir.empty() && n == dir.filename().string());
}

void prepare_host(ModelHost& host, const inference::ModelSettings& model,
                  const inference::EngineChoice& choice, std::int64_t context, int max_tokens) {
  const std::string dir = model.dir.string();
  host.dir = model.dir;
  host.choice = choice;
  host.name = inference::model_display_name(model.dir);
  host.config = inference::load_config(dir, choice);
  host.tokenizer = std::make_unique<inference::Tokenizer>(
      inference::Tokenizer::load(inference::find_tokenizer(dir)));
  inference::check_tokenizer_matches(*host.tokenizer, host.config);
  host.default_max_tokens = max_tokens;
  host.default_fps = model.recommended.fps.value_or(inference::kDefaultFps);
  host.default_max_edge = model.recommended.max_edge.value_or(inference::kDefaultMaxEdge);
  host.image_max_edge = model.recommended.max_edge.value_or(0);
  const std::int64_t model_context = std::min<std::int64_t>(host.config.text.max_context, 131072);
  host.context_tokens = context > 0 ? std::min(context, model_context) : model_context;
  host.created_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
}

void load_host_engine(ModelHost& host, inference::EngineOptions engine, int parallel,
                      std::int64_t step_tokens) {
  FS_CHECK(parallel >= 1, kInvalidArgument, "--parallel must be at least 1, got " << parallel);
  FS_CHECK(step_tokens >= 0, kInvalidArgument,
           "--step-tokens must be 0 or more, got " << step_tokens);
  if (parallel > 1 && step_tokens == 0) {
    FS_LOG_INFO("--step-tokens 0: requests are served one at a time (--parallel " << parallel
                                                                                  << " ignored)");
    parallel = 1;
  }
  // host.context_tokens is read by requests already (/v1/models): it is the engine's context by
  // construction, never written after the server starts.
  engine.max_context_tokens = host.context_tokens;
  if (parallel > 1) {
    pixtral::SharedModelOptions so;
    so.clients = parallel + 1;  // the slots and one video job
    so.context_tokens = host.context_tokens;
    so.scheduler.step_tokens = step_tokens;
    host.shared = pixtral::SharedModel::load(host.dir.string(), host.choice, engine, so);
    if (!host.shared) {
      FS_LOG_WARN("--parallel " << parallel << ": the " << host.choice.device
                                << " engine holds one sequence; requests are served one at a "
                                   "time (--parallel 1)");
      parallel = 1;
    }
  }
  std::int64_t held_context = 0;
  std::string backend;
  if (host.shared) {
    for (int k = 0; k < parallel; ++k)
      host.slots.push_back(host.shared->scheduler().client("slot " + std::to_string(k), 1));
    held_context = host.slots.front()->max_context();
    backend = host.shared->scheduler().engine().device_name() + ", " + std::to_string(parallel) +
              " requests at once, batched";
  } else {
    host.engine = inference::load_engine(host.dir, engine);
    held_context = host.engine->max_context();
    backend = std::string(host.engine->backend_name()) + ", one request at a time";
  }
  host.gate.set_slots(parallel);
  if (held_context < host.context_tokens)
    FS_LOG_WARN("the engine holds " << held_context << " tokens, not " << host.context_tokens
                                    << "; longer prompts will fail");
  host.loaded.store(true);
  FS_LOG_INFO("model " << host.name << " loaded (" << backend << ", context " << host.context_tokens
                       << " tokens); ready");
}

}  // namespace framescribe::serve
