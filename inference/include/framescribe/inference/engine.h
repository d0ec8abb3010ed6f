// The Pixtral engine API, the same for every backend (CPU float32 now; CUDA behind it later).
//
//   auto engine = framescribe::inference::load_engine("/models/pixtral", {});
//   PixelImage px = preprocess_image(img.view());
//   std::vector<const PixelImage*> images = {&px};                  // by reference, no copy
//   std::vector<float> feats = engine->encode_images(images);      // [n_patches, n_embd]
//   std::vector<float> logits = engine->eval(prompt_ids, feats, LogitsMode::kLast);
//   int32_t next = argmax(logits);
//   logits = engine->eval({&next, 1}, {}, LogitsMode::kLast);       // cached decode
//   next = engine->eval_greedy({&next, 1}, {});    // the same step when only the argmax is used
//
//   // or, all in one:
//   GenerateResult r = generate(*engine, prompt_ids, images, GenerateOptions{});
//   // or from chat messages, with log-probabilities, stop strings and streaming: chat.h.
//
// An engine holds the weights and one sequence's KV cache. Engines that hold many sequences
// (the CPU engine: batch_engine.h) also give access to them through batch(): the engine's own
// sequence is one of them; a caller may create, fork, step and release sequences of its own
// there (never the engine's own one), e.g. to fork alert questions off a window's prefix.
// It is not thread-safe: one thread
// drives one engine (parallelism is one engine per device). Errors: setup problems throw
// framescribe::Error at load; a request that does not fit (context full, image-token count
// mismatch) throws Error(kInvalidArgument) and leaves the cache as it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/sampling.h"

namespace framescribe::inference {

class BatchEngine;  // batch_engine.h

enum class Device { kCpu, kCuda };
std::string_view to_string(Device device);

// Where the weights come from. kDummy (vLLM's --load-format dummy): random weights of the
// configured sizes generated where the engine runs, no weight file read; for benchmarks, memory
// checks and CPU-against-CUDA comparisons (both engines generate the same bf16 values for the
// same seed). The answers are meaningless.
enum class LoadFormat { kCheckpoint, kDummy };

// Which attention kernels the CUDA engine uses (decided once at load, attention_plan.h):
// kAuto = cuDNN's fused attention where the cuDNN found at run time supports the path, else the
// engine's own kernels (the reason logged once); kCudnn = cuDNN or a load error naming why;
// kOwn = the engine's own kernels. The CPU engine ignores it.
enum class AttentionChoice { kAuto, kCudnn, kOwn };

struct EngineOptions {
  Device device = Device::kCpu;
  int n_threads = 0;                    // CPU engine: 0 = all hardware threads
  std::int64_t max_context_tokens = 0;  // 0 = the model's (at most 128k)
  LoadFormat load_format = LoadFormat::kCheckpoint;
  std::uint64_t dummy_seed = 0;           // kDummy: the same seed gives the same weights
  std::int64_t prefill_chunk_tokens = 0;  // CUDA: tokens per prefill step (0 = 2048)
  std::int64_t vision_batch_tokens = 0;   // CUDA: patches per vision step (0 = 16384)
  AttentionChoice attention = AttentionChoice::kAuto;  // CUDA: --attention auto|cudnn|own
};

// Memory an engine holds, in bytes. device_used/device_total: the whole device as its driver
// reports it (CUDA: every process and context on the card); -1 where not known (CPU).
struct MemoryUse {
  std::int64_t weights = 0;
  std::int64_t cache = 0;    // KV cache (CUDA: allocated for max_context at load; CPU: so far)
  std::int64_t scratch = 0;  // activations and workspaces
  std::int64_t device_used = -1;
  std::int64_t device_total = -1;
};

enum class LogitsMode {
  kNone,  // fill the cache only
  kLast,  // logits of the last token: [n_vocab]
  kAll,   // logits of every token: [n_tokens, n_vocab]
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::string_view backend_name() const = 0;
  // The hardware in words, for reports: "NVIDIA H200", "CPU (16 threads)".
  virtual std::string device_name() const { return std::string(backend_name()); }
  virtual MemoryUse memory_use() const { return {}; }

  // Vision encoder + projector for `images` (each encoded on its own, attention never crosses
  // images). Returns [sum of rows*cols over images, text n_embd], images in order, patches
  // row-major. Sizes must be multiples of the patch size and at most image_size_px per side.
  // Images are read in place (no copy); none may be null.
  virtual std::vector<float> encode_images(std::span<const PixelImage* const> images) = 0;
  // The same for images held contiguously (tests, benchmarks).
  std::vector<float> encode_images(std::span<const PixelImage> images);

  // Appends `tokens` at positions n_past()..n_past()+tokens.size()-1. Each token equal to the
  // image token id takes, in order, the next row of `image_embeddings` ([rows, n_embd]); the
  // number of image tokens must equal the number of rows.
  virtual std::vector<float> eval(std::span<const std::int32_t> tokens,
                                  std::span<const float> image_embeddings, LogitsMode mode) = 0;
  // Greedy decoding's step: eval(tokens, image_embeddings, kLast) and the id of the largest
  // last-token logit, with the image token's logit taken as -inf first (it is never sampled,
  // see generate) and argmax()'s rule (sampling.h: lowest id on ties, NaN never wins). The
  // default does exactly that on the host; the CUDA engine chooses on the device and copies 4
  // bytes back instead of n_vocab floats. `tokens` must not be empty.
  virtual std::int32_t eval_greedy(std::span<const std::int32_t> tokens,
                                   std::span<const float> image_embeddings);

  virtual std::int64_t n_past() const = 0;
  virtual std::int64_t max_context() const = 0;
  // Forgets cached positions >= n_tokens (0 starts a new sequence).
  virtual void truncate(std::int64_t n_tokens) = 0;
  // Approximate reuse, opt-in (BatchEngine::shift_out on this engine's sequence; kv_shift.h
  // plans it): forgets positions [begin, end) and moves the later ones down, re-rotating their
  // keys; answers may differ from a fresh eval. The default throws Error(kUnsupported) (the CPU
  // engine implements it). Defined in kv_shift.cpp.
  virtual void shift_out(std::int64_t begin, std::int64_t end);

  // The multi-sequence engine this engine's sequence lives in (same weights, same KV pool), or
  // nullptr where the backend has none (CUDA today). Its pool is shared with the engine's own
  // sequence: truncate(0) first to give that sequence's blocks to the others. Sequences made
  // there are the caller's to release; eval/truncate here never touch them.
  virtual BatchEngine* batch() { return nullptr; }
};

// Loads the model in `model_dir` (either layout) on the requested device. Throws Error. With
// LoadFormat::kDummy the config is still read from `model_dir`, or, if `model_dir` is empty, is
// pixtral_12b_config().
std::unique_ptr<Engine> load_engine(const std::filesystem::path& model_dir,
                                    const EngineOptions& options);
// The engine of options.device for an already loaded config.
std::unique_ptr<Engine> make_engine(const ModelConfig& config, const EngineOptions& options);
std::unique_ptr<Engine> make_cpu_engine(const ModelConfig& config, const EngineOptions& options);
// Throws Error(kUnsupported) when this build has no CUDA backend (FRAMESCRIBE_CUDA=OFF) or the
// machine has no usable CUDA device, and Error(kOutOfMemory) when the model does not fit.
std::unique_ptr<Engine> make_cuda_engine(const ModelConfig& config, const EngineOptions& options);
// Whether this build contains the CUDA backend (says nothing about a device being present).
bool cuda_backend_built();

// kStopString: only run_chat (chat.h) stops at stop strings.
enum class StopReason { kEos, kMaxTokens, kContextFull, kCallback, kStopString };
std::string_view to_string(StopReason reason);

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplingParams sampling;                // temperature 0 = greedy
  std::vector<std::int32_t> stop_tokens;  // empty: the model's EOS
};

struct GenerateResult {
  std::vector<std::int32_t> tokens;  // generated tokens, without the stop token
  StopReason stop_reason = StopReason::kMaxTokens;
  std::int64_t prompt_tokens = 0;
  double vision_ms = 0, prefill_ms = 0, decode_ms = 0;
};

// Called with each generated token; return false to stop.
using TokenCallback = std::function<bool(std::int32_t)>;

// Starts a new sequence (truncate(0)), encodes the images, prefills the prompt and generates.
// The image token is never sampled (images come only from the prompt). Images are read in
// place, in prompt order. chat.h builds the prompt and orders the images for you.
GenerateResult generate(Engine& engine, std::span<const std::int32_t> prompt,
                        std::span<const PixelImage* const> images, const GenerateOptions& options,
                        const TokenCallback& on_token = {});
GenerateResult generate(Engine& engine, std::span<const std::int32_t> prompt,
                        std::span<const PixelImage> images, const GenerateOptions& options,
                        const TokenCallback& on_token = {});

// Pointers to `images`, in order (for the overloads above that take pointers).
std::vector<const PixelImage*> image_pointers(std::span<const PixelImage> images);

}  // namespace framescribe::inference
