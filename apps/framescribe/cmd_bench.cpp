// framescribe bench engine: the engine's speed beside transformers and the physical floor.
// The options only; the benchmark and its printing are inference/bench (framescribe_bench).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "framescribe/bench/engine_bench.h"
#include "framescribe/core/error.h"
#include "framescribe/inference/attention_plan.h"

namespace framescribe::apps {

void add_bench_command(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand("bench", "Benchmarks (bench engine: the Pixtral engine)");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand(
      "engine",
      "The Pixtral engine's speed on framescribe's work, beside transformers and the floor");
  cmd->footer(
      "Without --model the engine runs Pixtral-12B's real sizes with random weights generated on\n"
      "the device (--load-format dummy: no files; 25.4 GB of GPU memory in bf16). Each row shows\n"
      "our time, the transformers figure measured on an H200 (docs/device.md in the shared\n"
      "folder; only at real size on CUDA) and the physical floor of this card (FLOPs at 781\n"
      "TFLOP/s, bytes at the card's copy bandwidth; H100 and H200 only), with the ratios: lower\n"
      "is better everywhere.\n\n" +
      bench::bench_row_help() +
      "\n\nExamples:\n"
      "  framescribe bench engine --device cuda                     # the default rows, 12B\n"
      "  framescribe bench engine --device cuda --rows all --json bench.json\n"
      "  framescribe bench engine --model samples/models/framescribe-demo --rows "
      "prefill:1024,decode:512\n\n"
      "Rows that do not fit the model are reported as skipped. --json FILE is rewritten after\n"
      "each row, so a run cut short keeps what it measured; --json - prints JSON on stdout\n"
      "(the table then goes to stderr).");
  struct Opts {
    std::string device = "cpu", model, load_format = "auto", rows = "default", json;
    std::string attention = "auto";
    std::uint64_t seed = 0;
    int threads = 0, decode_tokens = 32, window_decode_tokens = 128;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--device", o->device, "Engine: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("-m,--model", o->model,
                  "Model directory (either layout); without it, Pixtral-12B's configuration")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--load-format", o->load_format,
                  "auto (dummy without --model, else the checkpoint), checkpoint, or dummy "
                  "(random weights: only the model's config is read)")
      ->check(CLI::IsMember({"auto", "checkpoint", "dummy"}))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the dummy weights")->capture_default_str();
  cmd->add_option("--attention", o->attention,
                  "CUDA attention kernels: auto (cuDNN where it supports the path), cudnn (or "
                  "fail at load), own; the plan is logged at load")
      ->check(CLI::IsMember({"auto", "cudnn", "own"}))
      ->capture_default_str();
  cmd->add_option("--rows", o->rows, "Comma-separated rows (see below)")
      ->check(
          [](const std::string& list) {
            try {
              (void)bench::parse_bench_rows(list);
              return std::string();
            } catch (const Error& e) {
              return std::string(e.what());
            }
          },
          "ROWS")
      ->capture_default_str();
  cmd->add_option("--decode-tokens", o->decode_tokens, "Tokens timed per decode row")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--window-decode-tokens", o->window_decode_tokens,
                  "Tokens generated after a window's prefill")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("-t,--threads,--engine-threads", o->threads, "CPU engine threads (0: all)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--json", o->json, "Write the results as JSON to FILE ('-': stdout)");
  cmd->callback([o, exit_code] {
    bench::EngineBenchOptions bo;
    bo.device = o->device == "cuda" ? inference::Device::kCuda : inference::Device::kCpu;
    bo.model_dir = o->model;
    if (o->load_format == "checkpoint" && o->model.empty())
      throw CLI::ValidationError("--load-format", "checkpoint needs --model DIR");
    bo.load_format = o->load_format == "dummy" || (o->load_format == "auto" && o->model.empty())
                         ? inference::LoadFormat::kDummy
                         : inference::LoadFormat::kCheckpoint;
    bo.seed = o->seed;
    bo.attention = inference::parse_attention_choice(o->attention);
    bo.threads = o->threads;
    bo.decode_tokens = o->decode_tokens;
    bo.window_decode_tokens = o->window_decode_tokens;
    bo.rows = bench::parse_bench_rows(o->rows);
    // With --json - the JSON goes to stdout and the table to stderr.
    const bool json_stdout = o->json == "-";
    bench::BenchPrinter print(json_stdout ? stderr : stdout, o->json);
    const bench::EngineBenchReport report = bench::run_engine_bench(
        bo, [&](const bench::EngineBenchReport& so_far) { print.update(so_far); });
    if (json_stdout) std::cout << bench::bench_report_json(report) << std::flush;
    *exit_code = 0;
  });
}

}  // namespace framescribe::apps
