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

struct ParameterCounts {
  std::int64_t vision = 0;
  std::int64_t projector = 0;
  std::int64_t text = 0;
  std::int64_t total() const { return vision + projector + text; }
};
ParameterCounts count_parameters(const ModelConfig& config);

// A few lines for humans: layout, files, every dimension, parameter counts.
std::string describe(const ModelConfig& config);

}  // namespace framescribe::inference
