// framescribe info --model DIR: what a checkpoint is, before loading it.
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/safetensors.h"

namespace framescribe::apps {

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
    std::string model;
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  cmd->add_option("-m,--model", opts->model, "Model directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", opts->json, "Print JSON instead of text");
  cmd->callback([opts, exit_code] {
    using namespace framescribe::inference;
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
