// Reads config.json (Hugging Face) or params.json (native) into ModelConfig.
// References: docs/pixtral.md sections 1.1-1.3 (keys, defaults), transformers
// configuration_pixtral.py / MistralConfig / LlavaConfig defaults, mistral-inference args.py.
#include "framescribe/inference/model_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::inference {
namespace fs = std::filesystem;
using nlohmann::json;

std::string_view to_string(CheckpointLayout layout) {
  return layout == CheckpointLayout::kHuggingFace ? "huggingface" : "native";
}

namespace {

// Typed access to one JSON object with messages of the form
// "pixtral/config.json: text_config.hidden_size must be an integer (found string)".
class JsonObject {
 public:
  JsonObject(const json& j, std::string file, std::string prefix)
      : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  std::string where(const char* key) const { return file_ + ": " + prefix_ + key; }

  JsonObject child(const char* key) const {
    FS_CHECK(has(key), kMalformedModel, where(key) << " is missing; is this a Pixtral checkpoint?");
    FS_CHECK(j_.at(key).is_object(), kMalformedModel, where(key) << " must be an object");
    return JsonObject(j_.at(key), file_, prefix_ + key + ".");
  }

  std::int64_t integer(const char* key) const {
    FS_CHECK(has(key), kMalformedModel, where(key) << " is missing; is this a Pixtral checkpoint?");
    const json& v = j_.at(key);
    // Some writers store integers as 4096.0; accept whole floats.
    if (v.is_number_float()) {
      double d = v.get<double>();
      FS_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15, kMalformedModel,
               where(key) << " must be an integer (found " << v.dump() << ")");
      return static_cast<std::int64_t>(d);
    }
    FS_CHECK(v.is_number_integer(), kMalformedModel,
             where(key) << " must be an integer (found " << v.type_name() << ")");
    return v.get<std::int64_t>();
  }
  std::int64_t integer_or(const char* key, std::int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
  }
  // A positive dimension that fits an int.
  int dim(const char* key) const { return checked_dim(key, integer(key)); }
  int dim_or(const char* key, int fallback) const {
    return has(key) ? checked_dim(key, integer(key)) : fallback;
  }

  double number(const char* key) const {
    FS_CHECK(has(key), kMalformedModel, where(key) << " is missing; is this a Pixtral checkpoint?");
    const json& v = j_.at(key);
    FS_CHECK(v.is_number(), kMalformedModel,
             where(key) << " must be a number (found " << v.type_name() << ")");
    return v.get<double>();
  }
  double number_or(const char* key, double fallback) const {
    return has(key) ? number(key) : fallback;
  }

  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    FS_CHECK(j_.at(key).is_string(), kMalformedModel,
             where(key) << " must be a string (found " << j_.at(key).type_name() << ")");
    return j_.at(key).get<std::string>();
  }
  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    FS_CHECK(j_.at(key).is_boolean(), kMalformedModel,
             where(key) << " must be true or false (found " << j_.at(key).dump() << ")");
    return j_.at(key).get<bool>();
  }

  // rope_theta in the old top-level form, or rope_parameters.rope_theta (transformers 5).
  double rope_theta(double fallback, std::initializer_list<const char*> allowed_types) const {
    if (has("rope_parameters")) {
      JsonObject rp = child("rope_parameters");
      std::string type = rp.string_or("rope_type", "default");
      bool ok = false;
      for (const char* t : allowed_types) ok = ok || type == t;
      FS_CHECK(ok, kUnsupported,
               rp.where("rope_type")
                   << " is '" << type << "'; Pixtral uses plain RoPE (no scaling)");
      if (rp.has("rope_theta")) return rp.number("rope_theta");
    }
    return number_or("rope_theta", fallback);
  }

 private:
  int checked_dim(const char* key, std::int64_t v) const {
    FS_CHECK(v > 0 && v <= kMaxDimension, kMalformedModel,
             where(key) << " must be a positive size of at most " << kMaxDimension
                        << " (a sanity limit), found " << v);
    return static_cast<int>(v);
  }

  const json& j_;
  std::string file_;
  std::string prefix_;
};

json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kIo, path.string() << ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  FS_CHECK(!j.is_discarded(), kMalformedModel, path.string() << ": not valid JSON");
  FS_CHECK(j.is_object(), kMalformedModel,
           path.string() << ": expected a JSON object at the top level");
  return j;
}

// count_parameters in double: each dimension is at most 2^24, so the int64 products there
// could overflow before the cap below is checked.
double parameters_f64(const ModelConfig& c) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  const double vd = v.n_embd, vq = double(v.n_head) * v.head_dim;
  const double vision = vd * v.n_channels * v.patch_px * v.patch_px + vd +
                        double(v.n_layer) * (4 * vd * vq + 3 * vd * v.n_ff + 2 * vd);
  const double td = t.n_embd, q = double(t.n_head) * t.head_dim,
               kv = double(t.n_head_kv) * t.head_dim;
  const double projector = vd * td + td * td + 2 * td;
  const double text =
      double(t.n_vocab) * td * 2 + td +
      double(t.n_layer) * (td * q + 2 * td * kv + q * td + 3 * td * t.n_ff + 2 * td);
  return vision + projector + text;
}

void validate(const ModelConfig& c, const std::string& file) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  const double params = parameters_f64(c);
  FS_CHECK(params <= double(kMaxParameters), kMalformedModel,
           file << ": these dimensions make a model of " << std::fixed << std::setprecision(0)
                << params << " parameters (" << format_bytes(params * 4) << " as float32, "
                << format_bytes(params * 2) << " as bf16), more than the " << kMaxParameters
                << " (2^40) framescribe accepts; text: " << t.n_layer << " layers, hidden "
                << t.n_embd << ", ffn " << t.n_ff << ", vocab " << t.n_vocab
                << "; vision: " << v.n_layer << " layers, hidden " << v.n_embd << ", ffn " << v.n_ff
                << ". Is this config.json damaged?");
  FS_CHECK(v.n_embd == v.n_head * v.head_dim, kMalformedModel,
           file << ": vision hidden size " << v.n_embd << " != heads " << v.n_head << " x head_dim "
                << v.head_dim << " (the vision encoder is plain multi-head attention)");
  FS_CHECK(v.head_dim % 4 == 0, kMalformedModel,
           file << ": vision head_dim " << v.head_dim << " must be a multiple of 4 for 2-D RoPE");
  FS_CHECK(v.image_size_px % v.patch_px == 0, kMalformedModel,
           file << ": vision image_size " << v.image_size_px << " is not a multiple of patch_size "
                << v.patch_px);
  FS_CHECK(v.n_channels == 3, kUnsupported,
           file << ": vision num_channels is " << v.n_channels << "; Pixtral reads RGB (3)");
  FS_CHECK(t.head_dim % 2 == 0, kMalformedModel,
           file << ": text head_dim " << t.head_dim << " must be even for RoPE");
  FS_CHECK(t.n_head % t.n_head_kv == 0, kMalformedModel,
           file << ": text num_attention_heads " << t.n_head
                << " is not a multiple of num_key_value_heads " << t.n_head_kv);
  FS_CHECK(t.rope_theta > 0 && std::isfinite(t.rope_theta) && v.rope_theta > 0 &&
               std::isfinite(v.rope_theta),
           kMalformedModel, file << ": rope_theta must be a positive number");
  FS_CHECK(t.norm_eps > 0 && t.norm_eps < 1, kMalformedModel,
           file << ": rms_norm_eps must be in (0, 1), found " << t.norm_eps);
  FS_CHECK(t.max_context > 0, kMalformedModel,
           file << ": max_position_embeddings must be positive");
  for (int id : {c.image_token_id, c.image_break_token_id, c.image_end_token_id, c.bos_token_id,
                 c.eos_token_id}) {
    FS_CHECK(id >= 0 && id < t.n_vocab, kMalformedModel,
             file << ": special token id " << id << " is outside the vocabulary of " << t.n_vocab);
  }
}

// Default context when the checkpoint says more: the model card's 128k (mistral-inference
// precomputes 128,000 positions; the HF file claims 1,024,000).
constexpr std::int64_t kDefaultMaxContext = 131072;

ModelConfig load_hf(const fs::path& dir, WeightFile weights) {
  ModelConfig c;
  c.layout = CheckpointLayout::kHuggingFace;
  c.dir = dir;
  c.config_path = dir / "config.json";
  const std::string file = c.config_path.string();
  json j = read_json_file(c.config_path);
  JsonObject top(j, file, "");

  std::string model_type = top.string_or("model_type", "");
  FS_CHECK(model_type == "llava" || model_type == "pixtral" || model_type.empty(), kUnsupported,
           file << ": model_type is '" << model_type
                << "'; framescribe reads Pixtral checkpoints (model_type 'llava' with a 'pixtral' "
                   "vision_config)");
  JsonObject vj = top.child("vision_config");
  JsonObject tj = top.child("text_config");
  std::string vtype = vj.string_or("model_type", "pixtral");
  FS_CHECK(vtype == "pixtral", kUnsupported,
           vj.where("model_type") << " is '" << vtype
                                  << "'; only the Pixtral vision encoder is supported");
  std::string ttype = tj.string_or("model_type", "mistral");
  FS_CHECK(
      ttype == "mistral", kUnsupported,
      tj.where("model_type") << " is '" << ttype << "'; only a Mistral text decoder is supported");

  // Vision: PixtralVisionConfig defaults for absent keys.
  VisionConfig& v = c.vision;
  v.n_embd = vj.dim_or("hidden_size", 1024);
  v.n_layer = vj.dim_or("num_hidden_layers", 24);
  v.n_head = vj.dim_or("num_attention_heads", 16);
  v.head_dim = vj.dim_or("head_dim", v.n_embd / v.n_head);
  v.n_ff = vj.dim_or("intermediate_size", 4096);
  v.n_channels = vj.dim_or("num_channels", 3);
  v.image_size_px = vj.dim_or("image_size", 1024);
  v.patch_px = vj.dim_or("patch_size", 16);
  v.rope_theta = vj.rope_theta(10000.0, {"default", "axial"});
  // docs/pixtral.md section 8 item 1: early hub configs said "gelu"; the reference is SiLU.
  std::string vact = vj.string_or("hidden_act", "gelu");
  if (vact != "silu") {
    FS_LOG_WARN(vj.where("hidden_act") << " is '" << vact
                                       << "'; using SiLU as the reference implementation does "
                                          "(mistral-community/pixtral-12b PR #14)");
  }

  // Text: MistralConfig defaults for absent keys.
  TextConfig& t = c.text;
  t.n_embd = tj.dim_or("hidden_size", 4096);
  t.n_layer = tj.dim_or("num_hidden_layers", 32);
  t.n_head = tj.dim_or("num_attention_heads", 32);
  t.n_head_kv = tj.dim_or("num_key_value_heads", 8);
  t.head_dim = tj.dim_or("head_dim", t.n_embd / t.n_head);
  t.n_ff = tj.dim_or("intermediate_size", 14336);
  t.n_vocab = tj.dim_or("vocab_size", 32000);
  t.rope_theta = tj.rope_theta(10000.0, {"default"});
  t.norm_eps = static_cast<float>(tj.number_or("rms_norm_eps", 1e-6));
  t.max_context = std::min<std::int64_t>(tj.integer_or("max_position_embeddings", 4096 * 32),
                                         kDefaultMaxContext);
  t.tie_embeddings =
      tj.boolean_or("tie_word_embeddings", top.boolean_or("tie_word_embeddings", false));
  std::string tact = tj.string_or("hidden_act", "silu");
  FS_CHECK(tact == "silu", kUnsupported,
           tj.where("hidden_act") << " is '" << tact << "'; the Mistral decoder uses silu");
  FS_CHECK(!tj.has("sliding_window"), kUnsupported,
           tj.where("sliding_window") << " is set; Pixtral-12B attends over the whole context");
  c.bos_token_id = static_cast<int>(tj.integer_or("bos_token_id", 1));
  c.eos_token_id = static_cast<int>(tj.integer_or("eos_token_id", 2));

  // Top level: LlavaConfig; the hub file gives image_token_index, so it is required here
  // (the library default, 32000, would silently point into Pixtral's text vocabulary).
  c.image_token_id = static_cast<int>(top.integer("image_token_index"));
  c.projector_bias = top.boolean_or("multimodal_projector_bias", true);
  std::string pact = top.string_or("projector_hidden_act", "gelu");
  FS_CHECK(pact == "gelu", kUnsupported,
           top.where("projector_hidden_act")
               << " is '" << pact << "'; Pixtral's projector uses exact GELU");
  FS_CHECK(top.integer_or("vision_feature_layer", -1) == -1, kUnsupported,
           top.where("vision_feature_layer") << " must be -1 (the last layer) for Pixtral");
  std::string strategy = top.string_or("vision_feature_select_strategy", "full");
  FS_CHECK(strategy == "full", kUnsupported,
           top.where("vision_feature_select_strategy")
               << " is '" << strategy << "'; Pixtral uses 'full'");
  FS_CHECK(top.integer_or("spatial_merge_size", 1) == 1, kUnsupported,
           top.where("spatial_merge_size")
               << " != 1: a patch merger (Mistral-Small-3.1) is not supported");

  if (fs::exists(dir / "model.safetensors.index.json")) {
    c.weights_path = dir / "model.safetensors.index.json";
  } else if (fs::exists(dir / "model.safetensors") || weights == WeightFile::kOptional) {
    c.weights_path = dir / "model.safetensors";
  } else {
    FS_FAIL(kNotFound, dir.string()
                           << ": no model.safetensors or model.safetensors.index.json next to "
                              "config.json");
  }
  validate(c, file);
  return c;
}

ModelConfig load_native(const fs::path& dir, WeightFile weights) {
  ModelConfig c;
  c.layout = CheckpointLayout::kNative;
  c.dir = dir;
  c.config_path = dir / "params.json";
  const std::string file = c.config_path.string();
  json j = read_json_file(c.config_path);
  JsonObject top(j, file, "");

  TextConfig& t = c.text;
  t.n_embd = top.dim("dim");
  t.n_layer = top.dim("n_layers");
  t.n_head = top.dim("n_heads");
  t.n_head_kv = top.dim_or("n_kv_heads", t.n_head);
  t.head_dim = top.dim_or("head_dim", t.n_embd / t.n_head);
  t.n_ff = top.dim("hidden_dim");
  t.n_vocab = top.dim("vocab_size");
  t.rope_theta = top.number_or("rope_theta", 1e6);  // TransformerArgs default
  t.norm_eps = static_cast<float>(top.number("norm_eps"));
  t.max_context =
      std::min<std::int64_t>(top.integer_or("max_seq_len", kDefaultMaxContext), kDefaultMaxContext);
  FS_CHECK(!top.has("sliding_window"), kUnsupported,
           top.where("sliding_window") << " is set; Pixtral-12B attends over the whole context");
  FS_CHECK(!top.has("moe"), kUnsupported,
           top.where("moe") << " is set; mixture-of-experts is not supported");

  JsonObject vj = top.child("vision_encoder");
  VisionConfig& v = c.vision;
  v.n_embd = vj.dim("hidden_size");
  v.n_layer = vj.dim("num_hidden_layers");
  v.n_head = vj.dim("num_attention_heads");
  v.head_dim = v.n_embd / v.n_head;
  v.n_ff = vj.dim("intermediate_size");
  v.n_channels = vj.dim_or("num_channels", 3);
  v.image_size_px = vj.dim("image_size");
  v.patch_px = vj.dim("patch_size");
  v.rope_theta = vj.number_or("rope_theta", 10000.0);
  c.image_token_id = static_cast<int>(vj.integer("image_token_id"));
  c.image_break_token_id = static_cast<int>(vj.integer_or("image_break_token_id", 12));
  c.image_end_token_id = static_cast<int>(vj.integer_or("image_end_token_id", 13));
  c.projector_bias = vj.boolean_or("adapter_bias", true);
  FS_CHECK(vj.integer_or("spatial_merge_size", 1) == 1, kUnsupported,
           vj.where("spatial_merge_size")
               << " != 1: a patch merger (Mistral-Small-3.1) is not supported");
  FS_CHECK(!vj.boolean_or("add_pre_mm_projector_layer_norm", false), kUnsupported,
           vj.where("add_pre_mm_projector_layer_norm") << " is true: not a Pixtral-12B checkpoint");
  FS_CHECK(vj.string_or("mm_projector_id", "").empty(), kUnsupported,
           vj.where("mm_projector_id") << " is set: only the plain Pixtral adapter is supported");

  c.weights_path = dir / "consolidated.safetensors";
  FS_CHECK(weights == WeightFile::kOptional || fs::exists(c.weights_path), kNotFound,
           dir.string() << ": params.json found but no consolidated.safetensors next to it");
  validate(c, file);
  return c;
}

}  // namespace

ModelConfig load_model_config(const fs::path& dir, WeightFile weights) {
  FS_CHECK(fs::exists(dir), kNotFound, dir.string() << ": no such directory");
  FS_CHECK(
      fs::is_directory(dir), kInvalidArgument,
      dir.string() << ": expected a model directory (config.json or params.json + safetensors)");
  if (fs::exists(dir / "config.json")) return load_hf(dir, weights);
  if (fs::exists(dir / "params.json")) return load_native(dir, weights);
  FS_FAIL(kNotFound,
          dir.string() << ": neither config.json (Hugging Face layout) nor params.json "
                          "(native layout) found; point --model at a Pixtral checkpoint");
}

ParameterCounts count_parameters(const ModelConfig& c) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  ParameterCounts p;
  std::int64_t vd = v.n_embd;
  std::int64_t vlayer = 4 * vd * (v.n_head * v.head_dim) + 3 * vd * v.n_ff + 2 * vd;
  p.vision = vd * v.n_channels * v.patch_px * v.patch_px + vd + v.n_layer * vlayer;
  std::int64_t td = t.n_embd;
  p.projector = vd * td + td * td + (c.projector_bias ? 2 * td : 0);
  std::int64_t q = static_cast<std::int64_t>(t.n_head) * t.head_dim;
  std::int64_t kv = static_cast<std::int64_t>(t.n_head_kv) * t.head_dim;
  std::int64_t tlayer = td * q + 2 * td * kv + q * td + 3 * td * t.n_ff + 2 * td;
  p.text = static_cast<std::int64_t>(t.n_vocab) * td * (t.tie_embeddings ? 1 : 2) + td +
           t.n_layer * tlayer;
  return p;
}

namespace {

// Each std::vector of the CPU weights: the vector itself and the allocator's header.
constexpr double kCpuBytesPerTensor = 64;

// Calls `f(numel)` for every weight tensor the engines hold, a tied output included.
template <typename F>
void for_each_tensor(const ModelConfig& c, F&& f) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  auto block = [&](double layers, double d, double q, double kv, double ff) {
    // norms, wq, wk, wv, wo, w1, w2, w3 (layers at a time: the layer count can be 2^24)
    f(2 * d, 2 * layers);
    f(q * d, layers);
    f(kv * d, 2 * layers);
    f(d * q, layers);
    f(ff * d, 3 * layers);
  };
  const double vd = v.n_embd, td = t.n_embd;
  f(vd * v.n_channels * v.patch_px * v.patch_px, 1);
  f(vd, 1);
  block(v.n_layer, vd, double(v.n_head) * v.head_dim, double(v.n_head) * v.head_dim, v.n_ff);
  f(td * vd, 1);
  f(td * td, 1);
  f(td, 2);
  f(double(t.n_vocab) * td, 2);  // tok_embeddings and output (a copy when tied)
  block(t.n_layer, td, double(t.n_head) * t.head_dim, double(t.n_head_kv) * t.head_dim, t.n_ff);
  f(td, 1);
}

}  // namespace

MemoryEstimate estimate_cpu_memory(const ModelConfig& c, std::int64_t context_tokens) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  MemoryEstimate m;
  for_each_tensor(c, [&](double numel, double count) {
    m.weights += count * (4 * numel + kCpuBytesPerTensor);
  });
  m.cache = 2.0 * t.n_layer * double(context_tokens) * double(t.n_head_kv) * t.head_dim * 4;
  // vision_encoder.cpp for one image of the largest size: patches, x, rope, the block's
  // h/proj, q/k/v/att and gate/up, the projector's hidden/out.
  const double p = double(v.max_patches_per_side()) * v.max_patches_per_side();
  const double vq = double(v.n_head) * v.head_dim;
  const double image = p * (3.0 * v.patch_px * v.patch_px + v.n_embd + v.head_dim + 2.0 * v.n_embd +
                            4 * vq + 2.0 * v.n_ff + 2.0 * t.n_embd);
  m.scratch = 4 * image;
  return m;
}

double weight_bytes_bf16(const ModelConfig& c) {
  double bytes = 0;
  for_each_tensor(c, [&](double numel, double count) { bytes += count * 2 * numel; });
  return bytes;
}

double weight_tensor_count(const ModelConfig& c) {
  double n = 0;
  for_each_tensor(c, [&](double, double count) { n += count; });
  return n;
}

double largest_weight_elements(const ModelConfig& c) {
  double largest = 0;
  for_each_tensor(c, [&](double numel, double) { largest = std::max(largest, numel); });
  return largest;
}

namespace {

// A number from a one-value file (cgroup), or -1.
std::int64_t read_cgroup_value(const fs::path& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return -1;
  try {
    return std::stoll(word);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

std::int64_t available_host_memory_bytes() {
  std::int64_t available = -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
  }
  // A container's limit is lower than the host's free memory: memory.max of the cgroup v2
  // this process runs in (the unified hierarchy is mounted at /sys/fs/cgroup in containers).
  const std::int64_t limit = read_cgroup_value("/sys/fs/cgroup/memory.max");
  const std::int64_t current = read_cgroup_value("/sys/fs/cgroup/memory.current");
  if (limit > 0 && current >= 0) {
    const std::int64_t left = std::max<std::int64_t>(limit - current, 0);
    available = available < 0 ? left : std::min(available, left);
  }
  return available;
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(unit == 0 ? 0 : 1);
  os << bytes << ' ' << kUnits[unit];
  return os.str();
}

void check_cpu_engine_fits(const ModelConfig& c, std::int64_t context_tokens,
                           std::int64_t available_bytes) {
  if (available_bytes < 0) return;
  const MemoryEstimate m = estimate_cpu_memory(c, context_tokens);
  const std::string model = c.config_path.empty() ? std::string("the built-in Pixtral-12B config")
                                                  : c.config_path.string();
  const double load = m.weights + m.scratch;
  FS_CHECK(load <= double(available_bytes), kOutOfMemory,
           model << ": the CPU engine needs about " << format_bytes(load) << " for this model ("
                 << format_bytes(m.weights) << " of float32 weights, " << format_bytes(m.scratch)
                 << " of scratch) but only " << format_bytes(double(available_bytes))
                 << " of memory is available; text: " << c.text.n_layer << " layers, hidden "
                 << c.text.n_embd << ", vocab " << c.text.n_vocab
                 << "; vision: " << c.vision.n_layer << " layers, hidden " << c.vision.n_embd
                 << ". Check the config's dimensions, or use a machine with more memory");
  if (load + m.cache > double(available_bytes)) {
    FS_LOG_WARN(model << ": the KV cache for " << context_tokens << " tokens takes "
                      << format_bytes(m.cache) << ", more than the "
                      << format_bytes(double(available_bytes) - load)
                      << " of memory left after the weights; long prompts may fail. "
                         "--context N bounds it");
  }
}

std::string describe(const ModelConfig& c) {
  const VisionConfig& v = c.vision;
  const TextConfig& t = c.text;
  ParameterCounts p = count_parameters(c);
  std::ostringstream os;
  os << "layout:      " << to_string(c.layout) << " (" << c.config_path.filename().string() << ", "
     << c.weights_path.filename().string() << ")\n"
     << "vision:      " << v.n_layer << " layers, hidden " << v.n_embd << ", heads " << v.n_head
     << " x " << v.head_dim << ", ffn " << v.n_ff << " (SiLU-gated), patch " << v.patch_px
     << ", max image " << v.image_size_px << " px, 2-D RoPE theta " << v.rope_theta << "\n"
     << "projector:   " << v.n_embd << " -> " << t.n_embd << " -> " << t.n_embd << ", exact GELU"
     << (c.projector_bias ? ", biases" : "") << "\n"
     << "text:        " << t.n_layer << " layers, hidden " << t.n_embd << ", heads " << t.n_head
     << "/" << t.n_head_kv << " x " << t.head_dim << ", ffn " << t.n_ff << ", vocab " << t.n_vocab
     << ", RoPE theta " << t.rope_theta << ", eps " << t.norm_eps << "\n"
     << "context:     " << t.max_context << " tokens\n"
     << "tokens:      bos " << c.bos_token_id << ", eos " << c.eos_token_id << ", [IMG] "
     << c.image_token_id << ", [IMG_BREAK] " << c.image_break_token_id << ", [IMG_END] "
     << c.image_end_token_id << "\n"
     << "parameters:  " << p.total() << " (vision " << p.vision << ", projector " << p.projector
     << ", text " << p.text << ")\n";
  return os.str();
}

}  // namespace framescribe::inference
