#include "framescribe/inference/engine.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "framescribe/core/error.h"
#include "sample_loop.h"

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

  // The callback sees token ids only: greedy decoding needs no logits on the host.
  NextToken next(engine, options.sampling, /*keep_logits=*/false);
  t0 = std::chrono::steady_clock::now();
  const std::int32_t first = next(prompt, features);
  r.prefill_ms = ms_since(t0);

  t0 = std::chrono::steady_clock::now();
  r.stop_reason = sample_loop(engine, next, first, stops, options.max_new_tokens,
                              [&](const SampledToken& t) -> std::optional<StopReason> {
                                r.tokens.push_back(t.id);
                                if (on_token && !on_token(t.id)) return StopReason::kCallback;
                                return std::nullopt;
                              });
  r.decode_ms = ms_since(t0);
  return r;
}

std::int32_t greedy_choice(std::span<float> logits, std::int32_t image_token_id) {
  const auto img = static_cast<std::size_t>(image_token_id);
  if (img >= logits.size()) return argmax(logits);
  const float img_logit = logits[img];
  logits[img] = -std::numeric_limits<float>::infinity();
  const std::int32_t tok = argmax(logits);
  logits[img] = img_logit;
  return tok;
}

std::int32_t Engine::eval_greedy(std::span<const std::int32_t> tokens,
                                 std::span<const float> image_embeddings) {
  FS_CHECK(!tokens.empty(), kInvalidArgument, "eval_greedy: no tokens");
  std::vector<float> logits = eval(tokens, image_embeddings, LogitsMode::kLast);
  return greedy_choice(logits, config().image_token_id);
}

NextToken::NextToken(Engine& engine, const SamplingParams& sampling, bool keep_logits)
    : engine_(engine),
      sampler_(sampling),
      greedy_only_(sampling.temperature <= 0.0f && !keep_logits) {}

std::int32_t NextToken::operator()(std::span<const std::int32_t> tokens,
                                   std::span<const float> image_embeddings) {
  FS_CHECK(!tokens.empty(), kInvalidArgument, "next token: no tokens");
  if (greedy_only_) return engine_.eval_greedy(tokens, image_embeddings);
  logits_ = engine_.eval(tokens, image_embeddings, LogitsMode::kLast);
  // Sampler::sample with the image token masked; the logits are restored for the caller.
  const auto img = static_cast<std::size_t>(engine_.config().image_token_id);
  const bool has_img = img < logits_.size();
  const float img_logit = has_img ? logits_[img] : 0.0f;
  if (has_img) logits_[img] = -std::numeric_limits<float>::infinity();
  const std::int32_t tok = sampler_.sample(logits_);
  if (has_img) logits_[img] = img_logit;
  return tok;
}

StopReason sample_loop(Engine& engine, NextToken& next, std::int32_t first,
                       std::span<const std::int32_t> stops, int max_tokens,
                       const SampleHook& on_token) {
  std::int32_t tok = first;
  for (int n = 0;; ++n) {
    if (n >= max_tokens) return StopReason::kMaxTokens;
    if (std::find(stops.begin(), stops.end(), tok) != stops.end()) return StopReason::kEos;
    if (on_token) {
      if (const std::optional<StopReason> stop = on_token(SampledToken{tok, next.logits()}))
        return *stop;
    }
    if (engine.n_past() >= engine.max_context()) return StopReason::kContextFull;
    tok = next(std::span<const std::int32_t>(&tok, 1), {});
  }
}

}  // namespace framescribe::inference
