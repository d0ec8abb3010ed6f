#include "framescribe/inference/model_report.h"

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::inference {
namespace {

std::string cuda_version(int v) {
  return v == 0 ? std::string("none")
                : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace

std::string checkpoint_report(const std::filesystem::path& model_dir, bool json) {
  ModelConfig cfg = load_model_config(model_dir);
  TensorStore store = TensorStore::open(cfg.weights_path);
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> by_dtype;  // count, bytes
  std::set<std::string> files;
  for (const std::string& name : store.names()) {
    const TensorInfo* t = store.find(name);
    auto& e = by_dtype[std::string(to_string(t->dtype))];
    e.first += 1;
    e.second += t->size_bytes();
    files.insert(store.file_of(name).filename().string());
  }
  ParameterCounts p = count_parameters(cfg);
  if (json) {
    nlohmann::ordered_json j;
    j["layout"] = to_string(cfg.layout);
    j["config"] = cfg.config_path.string();
    j["weights"] = cfg.weights_path.string();
    j["files"] = files;
    j["vision"] = {{"layers", cfg.vision.n_layer},
                   {"hidden", cfg.vision.n_embd},
                   {"heads", cfg.vision.n_head},
                   {"head_dim", cfg.vision.head_dim},
                   {"ffn", cfg.vision.n_ff},
                   {"patch", cfg.vision.patch_px},
                   {"image_size", cfg.vision.image_size_px},
                   {"rope_theta", cfg.vision.rope_theta}};
    j["text"] = {{"layers", cfg.text.n_layer},         {"hidden", cfg.text.n_embd},
                 {"heads", cfg.text.n_head},           {"kv_heads", cfg.text.n_head_kv},
                 {"head_dim", cfg.text.head_dim},      {"ffn", cfg.text.n_ff},
                 {"vocab", cfg.text.n_vocab},          {"rope_theta", cfg.text.rope_theta},
                 {"max_context", cfg.text.max_context}};
    j["parameters"] = {
        {"vision", p.vision}, {"projector", p.projector}, {"text", p.text}, {"total", p.total()}};
    j["tensors"] = store.size();
    for (const auto& [dt, e] : by_dtype)
      j["dtypes"][dt] = {{"tensors", e.first}, {"bytes", e.second}};
    return j.dump(1) + "\n";
  }
  std::ostringstream out;
  out << "model:       " << model_dir.string() << "\n" << describe(cfg);
  out << "tensors:     " << store.size() << " in " << files.size() << " file(s)\n";
  for (const auto& [dt, e] : by_dtype) {
    char line[128];
    std::snprintf(line, sizeof line, "  %-5s      %lld tensors, %.1f MB\n", dt.c_str(),
                  static_cast<long long>(e.first), static_cast<double>(e.second) / 1e6);
    out << line;
  }
  return out.str();
}

std::string cuda_report(const CudaSetupReport& r, AttentionChoice choice, bool json) {
  auto path_json = [](const PathDecision& d) {
    return nlohmann::ordered_json{
        {"runs", to_string(d.runs)}, {"planned", to_string(d.planned)}, {"reason", d.reason}};
  };
  if (json) {
    nlohmann::ordered_json j;
    j["cuda_backend_built"] = r.backend_built;
    j["device"] =
        r.device.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.device);
    if (r.device.empty()) j["no_device_why"] = r.no_device_why;
    j["compute_capability"] = std::to_string(r.cc_major) + "." + std::to_string(r.cc_minor);
    j["cudnn_library"] =
        r.cudnn.available ? r.cudnn.library.str() : "unavailable: " + r.cudnn.why_unavailable;
    j["cudnn_path"] = r.cudnn_path;
    j["cudnn_headers"] = r.cudnn.headers.str();
    j["cudnn_effective"] = r.cudnn.available ? r.cudnn.effective().str() : "";
    j["cublaslt"] = r.cublaslt_version;
    j["driver"] = cuda_version(r.driver_version);
    j["runtime"] = cuda_version(r.runtime_version);
    j["attention_option"] = to_string(choice);
    j["attention"] = {{"text_prefill", path_json(r.plan.text_prefill)},
                      {"vision", path_json(r.plan.vision)},
                      {"decode", path_json(r.plan.decode)}};
    if (!r.plan_error.empty()) j["attention_error"] = r.plan_error;
    return j.dump(1) + "\n";
  }
  if (!r.backend_built) return "CUDA backend: not built (" + r.no_device_why + ")\n";
  std::ostringstream out;
  out << "device:      "
      << (r.device.empty() ? "none (" + r.no_device_why + ")"
                           : r.device + " (compute " + std::to_string(r.cc_major) + "." +
                                 std::to_string(r.cc_minor) + ")")
      << "\n";
  out << "cuDNN:       "
      << (r.cudnn.available ? r.cudnn.library.str() + " (" + r.cudnn_path + ")"
                            : "unavailable: " + r.cudnn.why_unavailable)
      << "; headers " << r.cudnn.headers.str();
  if (r.cudnn.available) out << "; features of " << r.cudnn.effective().str();
  out << "\n";
  out << "cuBLASLt:    " << r.cublaslt_version << "\n";
  out << "CUDA:        driver " << cuda_version(r.driver_version) << ", runtime "
      << cuda_version(r.runtime_version) << "\n";
  out << "attention (--attention " << to_string(choice) << "):\n" << r.plan.summary();
  return out.str();
}

}  // namespace framescribe::inference
