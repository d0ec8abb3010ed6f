// framescribe info --model DIR: what a checkpoint is, before loading it.
// framescribe info --device cuda [--attention X]: the CUDA side of this process (cuDNN found at
// run time, cuBLASLt, driver, device) and which kernels each attention would use; works without
// a GPU and without cuDNN (each line says what is missing).
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/inference/attention_plan.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::apps {
namespace {

std::string cuda_version(int v) {
  return v == 0 ? std::string("none")
                : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Returns the exit code: 1 when --attention cannot be honoured (a load would fail the same way).
int print_cuda_report(const inference::ModelConfig& cfg, inference::AttentionChoice choice,
                      bool json) {
  using namespace framescribe::inference;
  const CudaSetupReport r = cuda_setup_report(cfg, choice);
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
    std::cout << j.dump(1) << "\n";
    return r.plan_error.empty() ? 0 : 1;
  }
  if (!r.backend_built) {
    std::cout << "CUDA backend: not built (" << r.no_device_why << ")\n";
    if (!r.plan_error.empty()) std::cerr << "error: " << r.plan_error << "\n";
    return r.plan_error.empty() ? 0 : 1;
  }
  std::cout << "device:      "
            << (r.device.empty() ? "none (" + r.no_device_why + ")"
                                 : r.device + " (compute " + std::to_string(r.cc_major) + "." +
                                       std::to_string(r.cc_minor) + ")")
            << "\n";
  std::cout << "cuDNN:       "
            << (r.cudnn.available ? r.cudnn.library.str() + " (" + r.cudnn_path + ")"
                                  : "unavailable: " + r.cudnn.why_unavailable)
            << "; headers " << r.cudnn.headers.str();
  if (r.cudnn.available) std::cout << "; features of " << r.cudnn.effective().str();
  std::cout << "\n";
  std::cout << "cuBLASLt:    " << r.cublaslt_version << "\n";
  std::cout << "CUDA:        driver " << cuda_version(r.driver_version) << ", runtime "
            << cuda_version(r.runtime_version) << "\n";
  std::cout << "attention (--attention " << to_string(choice) << "):\n" << r.plan.summary();
  if (!r.plan_error.empty()) {
    std::cerr << "error: " << r.plan_error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "info", "Describe a Pixtral checkpoint: layout, architecture, parameters, dtypes");
  cmd->footer(
      "MODEL is a directory in the Hugging Face layout (config.json + model.safetensors or a "
      "sharded\n"
      "model.safetensors.index.json; mistral-community/pixtral-12b) or the native layout "
      "(params.json +\n"
      "consolidated.safetensors; mistralai/Pixtral-12B-2409). Only headers are read, so this is "
      "fast\n"
      "even for the 25 GB checkpoint.");
  struct Opts {
    std::string model, device, attention = "auto";
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  cmd->add_option("-m,--model", opts->model, "Model directory")->check(CLI::ExistingDirectory);
  cmd->add_option("--device", opts->device,
                  "cuda: cuDNN/cuBLASLt/driver versions, the device, and which kernels each "
                  "attention uses (for --model's head shapes, else Pixtral-12B's)")
      ->check(CLI::IsMember({"cuda"}));
  cmd->add_option("--attention", opts->attention, "With --device cuda: auto, cudnn or own")
      ->check(CLI::IsMember({"auto", "cudnn", "own"}))
      ->capture_default_str();
  cmd->add_flag("--json", opts->json, "Print JSON instead of text");
  cmd->callback([opts, exit_code] {
    using namespace framescribe::inference;
    if (opts->model.empty() && opts->device.empty())
      throw CLI::ValidationError("info", "needs --model DIR or --device cuda");
    if (!opts->device.empty()) {
      const ModelConfig cfg =
          opts->model.empty() ? pixtral_12b_config() : load_model_config(opts->model);
      *exit_code = print_cuda_report(cfg, parse_attention_choice(opts->attention), opts->json);
      return;
    }
    ModelConfig cfg = load_model_config(opts->model);
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
    if (opts->json) {
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
      std::cout << j.dump(1) << "\n";
    } else {
      std::cout << "model:       " << opts->model << "\n" << describe(cfg);
      std::cout << "tensors:     " << store.size() << " in " << files.size() << " file(s)\n";
      for (const auto& [dt, e] : by_dtype) {
        std::printf("  %-5s      %lld tensors, %.1f MB\n", dt.c_str(),
                    static_cast<long long>(e.first), static_cast<double>(e.second) / 1e6);
      }
    }
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
