// The float32 CPU engine: weights widened at load, the forward pass of pixtral_cpu.h.
#include <algorithm>

#include "cpu/parallel.h"
#include "cpu/pixtral_cpu.h"
#include "framescribe/core/error.h"
#if FRAMESCRIBE_HAVE_CUDA
#include "cuda/cuda_batch_engine.h"
#endif

namespace framescribe::inference {
namespace {

std::int64_t context_of(const ModelConfig& config, const EngineOptions& options) {
  return options.max_context_tokens > 0
             ? std::min(options.max_context_tokens, config.text.max_context)
             : config.text.max_context;
}

class CpuBatchEngine final : public BatchEngine {
 public:
  CpuBatchEngine(const ModelConfig& config, const EngineOptions& options,
                 const KvCacheOptions& cache)
      : config_(config),
        weights_(options.load_format == LoadFormat::kDummy
                     ? dummy_pixtral_weights(config_, options.dummy_seed)
                     : load_pixtral_weights(config_, TensorStore::open(config_.weights_path))),
        decoder_(config_, weights_, context_of(config_, options), cache) {
    cpu::set_num_threads(options.n_threads);
  }

  const ModelConfig& config() const override { return config_; }
  std::string device_name() const override {
    return "CPU (" + std::to_string(cpu::num_threads()) + " threads)";
  }
  MemoryUse memory_use() const override {
    MemoryUse m;
    m.weights = static_cast<std::int64_t>(sizeof(float)) * count_parameters(config_).total();
    m.cache = decoder_.cache_bytes();
    return m;
  }
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    return cpu::encode_images(config_, weights_, images);
  }
  std::int64_t max_context() const override { return decoder_.max_context(); }

  SeqId create() override { return decoder_.table().create(); }
  SeqId fork(SeqId src) override { return decoder_.table().fork(src); }
  void truncate(SeqId seq, std::int64_t n) override { decoder_.table().truncate(seq, n); }
  void release(SeqId seq) override { decoder_.table().release(seq); }
  std::int64_t length(SeqId seq) const override { return decoder_.table().length(seq); }
  KvStats kv_stats() const override { return decoder_.table().stats(); }
  const KvBlockTable& kv_table() const override { return decoder_.table(); }
  StepResult step(std::span<const StepSpan> spans) override { return decoder_.step(spans); }
  void shift_out(SeqId seq, std::int64_t begin, std::int64_t end) override {
    decoder_.shift_out(seq, begin, end);
  }
  std::int64_t shift_blocks_needed(SeqId seq, std::int64_t begin, std::int64_t end) const override {
    return decoder_.table().shift_blocks_needed(seq, begin, end);
  }

 private:
  ModelConfig config_;
  PixtralWeights weights_;
  cpu::TextDecoder decoder_;
};

// The single-sequence engine: one sequence of the batch engine, its pool one max_context long.
class CpuEngine final : public Engine {
 public:
  CpuEngine(const ModelConfig& config, const EngineOptions& options)
      : batch_(config, options, KvCacheOptions{}), seq_(batch_.create()) {}

  const ModelConfig& config() const override { return batch_.config(); }
  std::string_view backend_name() const override { return "cpu-f32"; }
  std::string device_name() const override { return batch_.device_name(); }
  MemoryUse memory_use() const override { return batch_.memory_use(); }

  using Engine::encode_images;
  std::vector<float> encode_images(std::span<const PixelImage* const> images) override {
    return batch_.encode_images(images);
  }

  std::vector<float> eval(std::span<const std::int32_t> tokens,
                          std::span<const float> image_embeddings, LogitsMode mode) override {
    if (tokens.empty()) return {};
    const StepSpan span{seq_, tokens, image_embeddings, mode};
    return batch_.step({&span, 1}).logits;
  }

  std::int64_t n_past() const override { return batch_.length(seq_); }
  std::int64_t max_context() const override { return batch_.max_context(); }
  void truncate(std::int64_t n_tokens) override {
    batch_.truncate(seq_, std::max<std::int64_t>(0, n_tokens));
  }
  void shift_out(std::int64_t begin, std::int64_t end) override {
    batch_.shift_out(seq_, begin, end);
  }
  BatchEngine* batch() override { return &batch_; }

 private:
  CpuBatchEngine batch_;
  SeqId seq_;
};

// Before a single tensor is allocated: a config (dummy weights) or checkpoint claiming more than
// this machine holds is refused with the estimate instead of exhausting memory. `cache_tokens`:
// the KV pool's positions (its blocks get storage as they are first used; a pool that would not
// fit is logged, as the single-sequence cache is).
void check_fits(const ModelConfig& config, std::int64_t cache_tokens) {
  check_cpu_engine_fits(config, cache_tokens, available_host_memory_bytes());
}

}  // namespace

std::int64_t BatchEngine::blocks_needed(std::span<const StepSpan> spans) const {
  std::vector<KvAppend> appends;
  for (const StepSpan& s : spans)
    appends.push_back({s.seq, static_cast<std::int64_t>(s.tokens.size())});
  return kv_table().blocks_needed(appends);
}

std::int64_t BatchEngine::shift_blocks_needed(SeqId, std::int64_t, std::int64_t) const {
  FS_FAIL(kUnsupported,
          "approximate KV reuse (shift_out) is implemented by the CPU engine only; "
          "recompute the window ("
              << device_name() << ")");
}

void BatchEngine::shift_out(SeqId, std::int64_t, std::int64_t) {
  FS_FAIL(kUnsupported,
          "approximate KV reuse (shift_out) is implemented by the CPU engine only; "
          "recompute the window ("
              << device_name() << ")");
}

std::unique_ptr<Engine> make_cpu_engine(const ModelConfig& config, const EngineOptions& options) {
  check_fits(config, context_of(config, options));
  return std::make_unique<CpuEngine>(config, options);
}

std::unique_ptr<BatchEngine> make_cpu_batch_engine(const ModelConfig& config,
                                                   const EngineOptions& options,
                                                   const KvCacheOptions& cache) {
  check_fits(config, std::max(context_of(config, options), cache.cache_tokens));
  return std::make_unique<CpuBatchEngine>(config, options, cache);
}

std::unique_ptr<BatchEngine> make_batch_engine(const ModelConfig& config,
                                               const EngineOptions& options,
                                               const KvCacheOptions& cache) {
#if FRAMESCRIBE_HAVE_CUDA
  if (options.device == Device::kCuda) return cuda::make_cuda_batch_engine(config, options, cache);
#endif
  FS_CHECK(options.device == Device::kCpu, kUnsupported,
           "the multi-sequence engine on this device needs the CUDA backend, which this build "
           "does not have; use --device cpu");
  return make_cpu_batch_engine(config, options, cache);
}

}  // namespace framescribe::inference
