// framescribe reference-check: the engine against reference outputs of transformers.
#include <iostream>

#include "commands.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/reference_check.h"

namespace framescribe::apps {

void add_reference_check_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("reference-check",
                                 "Compare the engine with reference outputs (image features, "
                                 "logits, cached decode, greedy tokens)");
  cmd->footer(
      "EXPECTED is a safetensors file in the format of "
      "tests/data/reference/*/expected.safetensors\n"
      "(pixel_values, image_sizes, input_ids, image_features, logits, generated_ids, logits_full), "
      "made by\n"
      "tools/fixtures/hf_fixtures.py with Hugging Face transformers. Exits 0 only if every "
      "relative error\n"
      "(max |a-b| / max |b|) is within the tolerance and the greedy tokens are identical.");
  struct Opts {
    std::string model, expected, dump;
    double tolerance = 1e-4;
    int threads = 0;
  };
  auto opts = std::make_shared<Opts>();
  cmd->add_option("-m,--model", opts->model, "Model directory (either layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-e,--expected", opts->expected, "Reference outputs (expected.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--tolerance", opts->tolerance, "Largest relative error accepted")
      ->capture_default_str()
      ->check(CLI::Range(1e-12, 1.0));
  cmd->add_option("--dump", opts->dump,
                  "Also write the engine's outputs here (safetensors: image_features, logits, "
                  "logits_full, generated_ids = the engine's greedy tokens)");
  cmd->add_option("-t,--threads,--engine-threads", opts->threads, "CPU engine threads (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->callback([opts, exit_code] {
    using namespace framescribe::inference;
    EngineOptions eo;
    eo.n_threads = opts->threads;
    auto engine = load_engine(opts->model, eo);
    std::cout << "engine:          " << engine->backend_name() << ", model " << opts->model << "\n"
              << "expected:        " << opts->expected << "\n";
    ReferenceCheckResult r =
        run_reference_check(*engine, opts->expected, {opts->tolerance, opts->dump});
    std::cout << format_report(r);
    if (!opts->dump.empty()) std::cout << "engine outputs:  " << opts->dump << "\n";
    *exit_code = r.passed ? 0 : 1;
  });
}

}  // namespace framescribe::apps
