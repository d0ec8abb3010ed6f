#include "dummy_weights.h"

#include <string>

namespace framescribe::inference::dummy {
namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Fill fill_for(const ModelConfig& config, std::uint64_t model_seed, std::string_view native_name,
              std::span<const std::int64_t> shape) {
  // A tied output matrix is the embedding table: same values.
  if (native_name == "output.weight" && config.text.tie_embeddings)
    native_name = "tok_embeddings.weight";
  Fill f;
  f.seed = splitmix64(model_seed * 0x9E3779B97F4A7C15ull ^ fnv1a(native_name));
  if (ends_with(native_name, "norm.weight") || native_name == "vision_encoder.ln_pre.weight") {
    f.offset = 1.0f;
  } else if (ends_with(native_name, ".bias")) {
    f.scale = config.projector_bias ? 0.01f : 0.0f;
  } else if (native_name == "tok_embeddings.weight") {
    f.scale = 0.05f;
  } else {
    std::int64_t in = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) in *= shape[i];
    f.scale = 1.0f / std::sqrt(static_cast<float>(in > 0 ? in : 1));
  }
  return f;
}

}  // namespace framescribe::inference::dummy
