#include "framescribe/inference/engine.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "framescribe/core/error.h"

namespace framescribe::inference {

std::string_view to_string(Device device) {
  return device == Device::kCpu ? "cpu" : "cuda";
}

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::kEos:
      return "eos";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kContextFull:
      return "context_full";
    case StopReason::kCallback:
      return "stopped";
    case StopReason::kStopString:
      return "stop_string";
  }
  return "?";
}

std::unique_ptr<Engine> load_engine(const std::filesystem::path& model_dir,
                                    const EngineOptions& options) {
  if (options.load_format == LoadFormat::kDummy) {
    // Only the config is read; no weight file is needed.
    return make_engine(model_dir.empty() ? pixtral_12b_config()
                                         : load_model_config(model_dir, WeightFile::kOptional),
                       options);
  }
  return make_engine(load_model_config(model_dir), options);
}

std::unique_ptr<Engine> make_engine(const ModelConfig& config, const EngineOptions& options) {
  switch (options.device) {
    case Device::kCpu:
      return make_cpu_engine(config, options);
    case Device::kCuda:
      return make_cuda_engine(config, options);
  }
  FS_FAIL(kInvalidArgument, "unknown device");
}

#ifndef FRAMESCRIBE_HAVE_CUDA
// CPU-only build: the CUDA engine lives in src/cuda/ and is compiled only with nvcc.
std::unique_ptr<Engine> make_cuda_engine(const ModelConfig&, const EngineOptions&) {
  FS_FAIL(kUnsupported,
          "this build of framescribe has no CUDA backend (configured with FRAMESCRIBE_CUDA=OFF or "
          "without nvcc); rebuild with the cuda-release preset, or use --device cpu");
}

bool cuda_backend_built() {
  return false;
}
#endif

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

std::vector<const PixelImage*> image_pointers(std::span<const PixelImage> images) {
  std::vector<const PixelImage*> p;
  p.reserve(images.size());
  for (const PixelImage& img : images) p.push_back(&img);
  return p;
}

std::vector<float> Engine::encode_images(std::span<const PixelImage> images) {
  return encode_images(std::span<const PixelImage* const>(image_pointers(images)));
}

GenerateResult generate(Engine& engine, std::span<const std::int32_t> prompt,
                        std::span<const PixelImage> images, const GenerateOptions& options,
                        const TokenCallback& on_token) {
  const std::vector<const PixelImage*> p = image_pointers(images);
  return generate(engine, prompt, std::span<const PixelImage* const>(p), options, on_token);
}

GenerateResult generate(Engine& engine, std::span<const std::int32_t> prompt,
                        std::span<const PixelImage* const> images, const GenerateOptions& options,
                        const TokenCallback& on_token) {
  FS_CHECK(!prompt.empty(), kInvalidArgument, "generate: empty prompt");
  FS_CHECK(options.max_new_tokens >= 0, kInvalidArgument, "max_new_tokens must be >= 0");
  std::vector<std::int32_t> stops = options.stop_tokens;
  if (stops.empty()) stops.push_back(engine.config().eos_token_id);

  GenerateResult r;
  r.prompt_tokens = static_cast<std::int64_t>(prompt.size());
  engine.truncate(0);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> features = engine.encode_images(images);
  r.vision_ms = ms_since(t0);

  t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = engine.eval(prompt, features, LogitsMode::kLast);
  r.prefill_ms = ms_since(t0);

  Sampler sampler(options.sampling);
  t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (static_cast<int>(r.tokens.size()) >= options.max_new_tokens) {
      r.stop_reason = StopReason::kMaxTokens;
      break;
    }
    // Image tokens only come from the prompt: fed back, an [IMG] would need image features that
    // do not exist, so it is never sampled.
    const auto img = static_cast<std::size_t>(engine.config().image_token_id);
    if (img < logits.size()) logits[img] = -std::numeric_limits<float>::infinity();
    const std::int32_t tok = sampler.sample(logits);
    if (std::find(stops.begin(), stops.end(), tok) != stops.end()) {
      r.stop_reason = StopReason::kEos;
      break;
    }
    r.tokens.push_back(tok);
    if (on_token && !on_token(tok)) {
      r.stop_reason = StopReason::kCallback;
      break;
    }
    if (engine.n_past() >= engine.max_context()) {
      r.stop_reason = StopReason::kContextFull;
      break;
    }
    logits = engine.eval(std::span<const std::int32_t>(&tok, 1), {}, LogitsMode::kLast);
  }
  r.decode_ms = ms_since(t0);
  return r;
}

}  // namespace framescribe::inference
