// framescribe info --model DIR: what a checkpoint is, before loading it.
// framescribe info --device cuda [--attention X]: the CUDA side of this process (cuDNN found at
// run time, cuBLASLt, driver, device) and which kernels each attention would use; works without
// a GPU and without cuDNN (each line says what is missing).
#include <iostream>

#include "commands.h"
#include "framescribe/inference/attention_plan.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_report.h"

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
      const AttentionChoice choice = parse_attention_choice(opts->attention);
      const CudaSetupReport r = cuda_setup_report(cfg, choice);
      std::cout << cuda_report(r, choice, opts->json);
      // --attention cannot be honoured (a load would fail the same way): exit 1.
      if (!r.plan_error.empty() && !opts->json) std::cerr << "error: " << r.plan_error << "\n";
      *exit_code = r.plan_error.empty() ? 0 : 1;
      return;
    }
    std::cout << checkpoint_report(opts->model, opts->json);
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
