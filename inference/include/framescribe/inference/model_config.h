// Pixtral model configuration, read from either checkpoint layout:
//   - Hugging Face (mistral-community/pixtral-12b): config.json (LlavaForConditionalGeneration)
//     + model.safetensors or model.safetensors.index.json with shards;
//   - native (mistralai/Pixtral-12B-2409): params.json + consolidated.safetensors.
//
//   auto cfg = framescribe::inference::load_model_config("/models/pixtral-12b");
//   std::cout << describe(cfg);            // layout, sizes, parameter count
//
// Keys the hub config.json leaves out take the transformers defaults (docs/pixtral.md 1.2), which
// are the Pixtral-12B values. Both the old top-level `rope_theta` and the transformers 5
// `rope_parameters` form are accepted. Errors name the file and the key and say what was
// expected. Plain data; thread-safe to share once loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace framescribe::inference {

enum class CheckpointLayout { kHuggingFace, kNative };
std::string_view to_string(CheckpointLayout layout);

struct VisionConfig {
  int n_embd = 1024;
  int n_layer = 24;
  int n_head = 16;
  int head_dim = 64;
  int n_ff = 4096;
  int n_channels = 3;
  int image_size_px = 1024;  // longest edge the position table covers
  int patch_px = 16;
  double rope_theta = 10000.0;
  float norm_eps = 1e-5f;  // hard-coded in both references
  int max_patches_per_side() const { return image_size_px / patch_px; }
};

struct TextConfig {
  int n_embd = 5120;
  int n_layer = 40;
  int n_head = 32;
  int n_head_kv = 8;
  int head_dim = 128;
  int n_ff = 14336;
  int n_vocab = 131072;
  double rope_theta = 1e9;
  float norm_eps = 1e-5f;
  std::int64_t max_context = 131072;  // tokens the engine accepts by default (128k)
  bool tie_embeddings = false;
};

struct ModelConfig {
  CheckpointLayout layout = CheckpointLayout::kHuggingFace;
  std::filesystem::path dir;
  std::filesystem::path config_path;   // config.json or params.json
  std::filesystem::path weights_path;  // a .safetensors file or a .index.json
  VisionConfig vision;
  TextConfig text;
  bool projector_bias = true;
  int image_token_id = 10;
  int image_break_token_id = 12;  // as given by the checkpoint (or Pixtral-12B's), prompts should
  int image_end_token_id = 13;    // still take these from the tokenizer file
  int bos_token_id = 1;
  int eos_token_id = 2;
};

// Whether load_model_config insists on the weight file. kOptional is for --load-format dummy:
// a folder with only the config (and tokenizer) is enough; weights_path is still set to where
// the file would be.
enum class WeightFile { kRequired, kOptional };

// Detects the layout of `dir` (config.json: Hugging Face; params.json: native) and reads it.
// Throws framescribe::Error: kNotFound (no config, no weights), kMalformedModel (missing keys,
// wrong types, impossible values), kUnsupported (a different architecture or variant).
ModelConfig load_model_config(const std::filesystem::path& dir,
                              WeightFile weights = WeightFile::kRequired);

// The real Pixtral-12B configuration (docs/pixtral.md 1.3), without any file: the defaults of
// the structs above are its values. For --load-format dummy benchmarks and sizing.
inline ModelConfig pixtral_12b_config() {
  ModelConfig config;
  config.layout = CheckpointLayout::kNative;
  return config;
}

// Sanity caps checked by load_model_config, before anything is allocated: each dimension is
// at most kMaxDimension and the whole model at most kMaxParameters (Pixtral-12B has 1.27e10;
// a config beyond the cap is a mistake or an attack, and the parameter arithmetic below stays
// far from int64 overflow).
inline constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;
inline constexpr std::int64_t kMaxParameters = std::int64_t{1} << 40;

struct ParameterCounts {
  std::int64_t vision = 0;
  std::int64_t projector = 0;
  std::int64_t text = 0;
  std::int64_t total() const { return vision + projector + text; }
};
ParameterCounts count_parameters(const ModelConfig& config);

// Memory an engine needs for a config, in bytes, from its dimensions alone: computed before
// anything is allocated, so that a config.json claiming 2^24 layers is refused with a message
// instead of exhausting the machine (--load-format dummy allocates whatever the config says).
// Doubles, so that no dimension can overflow the arithmetic.
struct MemoryEstimate {
  double weights = 0;  // as the engine holds them, per-tensor bookkeeping included
  double cache = 0;    // the KV cache for the whole context
  double scratch = 0;  // activations and load-time temporaries
};

// The float32 CPU engine: every tensor widened to float32 (a tied output is a copy); a float32
// KV cache for `context_tokens` (it grows with the sequence, so loading takes none of it);
// scratch: one image of the largest size through the vision encoder (a long prompt's prefill
// activations come on top, in proportion to its length).
MemoryEstimate estimate_cpu_memory(const ModelConfig& config, std::int64_t context_tokens);

// Bytes of every weight in bf16 (the CUDA engine's arena; a tied output is stored twice).
double weight_bytes_bf16(const ModelConfig& config);
// Weight tensors of the engines (a tied output counted) and the elements of the largest one.
double weight_tensor_count(const ModelConfig& config);
double largest_weight_elements(const ModelConfig& config);

// Memory this process can still allocate, in bytes: MemAvailable of /proc/meminfo, lowered by a
// cgroup v2 limit (memory.max - memory.current) when one is set; -1 when neither is readable.
std::int64_t available_host_memory_bytes();

// "1.5 GiB", "12 MiB": byte counts for messages.
std::string format_bytes(double bytes);

// Refuses, before anything is allocated, a CPU engine whose weights and scratch exceed
// `available_bytes` (-1: unknown, nothing is refused). Throws Error(kOutOfMemory) naming the
// config file, the estimate, its parts and the limit. A full-context KV cache that would not
// fit as well is only logged: the cache grows with the sequence, and --context bounds it.
void check_cpu_engine_fits(const ModelConfig& config, std::int64_t context_tokens,
                           std::int64_t available_bytes);

// A few lines for humans: layout, files, every dimension, parameter counts.
std::string describe(const ModelConfig& config);

}  // namespace framescribe::inference
