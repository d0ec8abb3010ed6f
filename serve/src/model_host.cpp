#include <algorithm>
#include <chrono>
#include <string_view>

#include "framescribe/core/log.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

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

void load_host_engine(ModelHost& host, inference::EngineOptions engine) {
  // host.context_tokens is read by requests already (/v1/models): it is the engine's context by
  // construction, never written after the server starts.
  engine.max_context_tokens = host.context_tokens;
  host.engine = inference::load_engine(host.dir, engine);
  if (host.engine->max_context() < host.context_tokens)
    FS_LOG_WARN("the engine holds " << host.engine->max_context() << " tokens, not "
                                    << host.context_tokens << "; longer prompts will fail");
  host.loaded.store(true);
  FS_LOG_INFO("model " << host.name << " loaded (" << host.engine->backend_name() << ", context "
                       << host.context_tokens << " tokens); ready");
}

}  // namespace framescribe::serve
