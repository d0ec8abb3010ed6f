// The float32 CPU engine: weights widened at load, the forward pass of pixtral_cpu.h.
#include <algorithm>

#include "cpu/parallel.h"
#include "cpu/pixtral_cpu.h"
#include "framescribe/core/error.h"

namespace framescribe::inference {
namespace {

class CpuEngine final : public Engine {
 public:
  CpuEngine(const ModelConfig& config, const EngineOptions& options)
      : config_(config),
        weights_(options.load_format == LoadFormat::kDummy
                     ? dummy_pixtral_weights(config_, options.dummy_seed)
                     : load_pixtral_weights(config_, TensorStore::open(config_.weights_path))),
        decoder_(config_, weights_,
                 options.max_context_tokens > 0
                     ? std::min(options.max_context_tokens, config_.text.max_context)
                     : config_.text.max_context) {
    cpu::set_num_threads(options.n_threads);
  }

  const ModelConfig& config() const override { return config_; }
  std::string_view backend_name() const override { return "cpu-f32"; }
  std::string device_name() const override {
    return "CPU (" + std::to_string(cpu::num_threads()) + " threads)";
  }
  MemoryUse memory_use() const override {
    MemoryUse m;
    m.weights = static_cast<std::int64_t>(sizeof(float)) * count_parameters(config_).total();
    m.cache = decoder_.cache_bytes();
    return m;
  }

  using Engine::encode_images;
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    return cpu::encode_images(config_, weights_, images);
  }

  std::vector<float> eval(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings, LogitsMode mode) override {
    return decoder_.forward(tokens, image_embeddings, mode);
  }

  std::int64_t n_past() const override { return decoder_.n_past(); }
  std::int64_t max_context() const override { return decoder_.max_context(); }
  void truncate(std::int64_t n_tokens) override { decoder_.truncate(n_tokens); }

 private:
  ModelConfig config_;
  PixtralWeights weights_;
  cpu::TextDecoder decoder_;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const ModelConfig& config, const EngineOptions& options) {
  // Before a single tensor is allocated: a config (dummy weights) or checkpoint claiming more
  // than this machine holds is refused with the estimate instead of exhausting memory.
  const std::int64_t context = options.max_context_tokens > 0
                                   ? std::min(options.max_context_tokens, config.text.max_context)
                                   : config.text.max_context;
  check_cpu_engine_fits(config, context, available_host_memory_bytes());
  return std::make_unique<CpuEngine>(config, options);
}

}  // namespace framescribe::inference
