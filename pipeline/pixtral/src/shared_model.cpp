#include "framescribe/pixtral/shared_model.h"

#include <algorithm>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::pixtral {

std::unique_ptr<SharedModel> SharedModel::load(const std::string& model_dir,
                                               const inference::EngineChoice& choice,
                                               const inference::EngineOptions& engine,
                                               const SharedModelOptions& options) {
  FS_CHECK(options.clients >= 1, kInvalidArgument,
           "a shared model needs at least one client, got " << options.clients);
  if (engine.device != inference::Device::kCpu) return nullptr;
  inference::ModelConfig config = inference::load_config(model_dir, choice);
  inference::Tokenizer tok = inference::Tokenizer::load(inference::find_tokenizer(model_dir));
  std::int64_t context = engine.max_context_tokens > 0
                             ? std::min(engine.max_context_tokens, config.text.max_context)
                             : config.text.max_context;
  if (options.context_tokens > 0) context = std::min(context, options.context_tokens);
  inference::KvCacheOptions cache;
  cache.cache_tokens = context * options.clients;
  auto be = inference::make_batch_engine(config, engine, cache);
  FS_LOG_DEBUG("shared model: KV pool of " << be->kv_stats().blocks_total << " blocks of "
                                           << be->kv_stats().block_tokens << " positions for "
                                           << options.clients << " sequences");
  return std::make_unique<SharedModel>(std::move(config), std::move(tok), std::move(be),
                                       options.scheduler);
}

SharedModel::SharedModel(inference::ModelConfig config, inference::Tokenizer tokenizer,
                         std::unique_ptr<inference::BatchEngine> engine,
                         const inference::StepSchedulerOptions& scheduler)
    : config_(std::move(config)),
      tok_(std::move(tokenizer)),
      engine_(std::move(engine)),
      scheduler_(std::make_unique<inference::StepScheduler>(*engine_, scheduler)) {}

SharedModel::~SharedModel() = default;

std::unique_ptr<PixtralWindowEngine> SharedModel::window_engine(const std::string& name,
                                                                int priority,
                                                                PixtralWindowOptions window) {
  return std::make_unique<PixtralWindowEngine>(config_, tok_, scheduler_->client(name, priority),
                                               std::move(window));
}

}  // namespace framescribe::pixtral
