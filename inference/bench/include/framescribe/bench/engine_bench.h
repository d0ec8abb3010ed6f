// The engine benchmark (`framescribe bench engine`, beside the engine as llama.cpp keeps
// llama-bench; target framescribe_bench, which needs only the inference module, so it builds on
// the GPU machine without FFmpeg): the Pixtral engine's speed on the work framescribe gives it
// (vision encoder, text prefill, decode, one video window), each row printed beside the
// transformers figure and the physical floor of the shared docs/device.md, with the ratios.
//
//   EngineBenchOptions o;                  // Pixtral-12B size, dummy weights, the CUDA engine
//   o.rows = parse_bench_rows("prefill_8k,decode:1024");
//   EngineBenchReport r = run_engine_bench(o, [](const EngineBenchReport& so_far) { ... });
//   BenchPrinter print(stdout, "bench.json");   // the table, and a JSON file kept up to date
//   run_engine_bench(o, [&](const EngineBenchReport& so_far) { print.update(so_far); });
//
// Rows are presets (the list, with reference figures) or generic specs:
//   vision:NxS      N images of SxS pixels through the vision encoder + projector
//   prefill:T       T random text tokens from an empty cache, last-token logits only
//   decode:C        ms per generated token (greedy) after a prefill of C tokens
//   window:NxS      N frames of SxS + a 40-token question: vision + prefill, then
//                   --decode-tokens... generated tokens (reported as two rows)
// A row that does not fit the model (image larger than it takes, context longer than it holds)
// is reported as skipped with the reason, never silently dropped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/inference/engine.h"

namespace framescribe::bench {

struct BenchRowSpec {
  enum class Kind { kVision, kPrefill, kDecode, kWindow };
  Kind kind = Kind::kPrefill;
  std::string name;     // "prefill_8k" or the generic spec as written
  std::int64_t n = 0;   // images / tokens / context / frames
  int side_px = 0;      // vision and window
  bool preset = false;  // one of the named rows (reference figures apply at Pixtral-12B size)
};

// Parses "a,b,..." of preset names and generic specs; "all" = every preset, "default" = every
// preset but the 128k ones. Throws Error(kInvalidArgument) naming a bad item and the valid forms.
std::vector<BenchRowSpec> parse_bench_rows(const std::string& list);
// The preset names, for --help.
std::string bench_row_help();

struct BenchRow {
  std::string name, unit;              // unit: "s", "ms/token" or "GB"
  std::optional<double> value;         // empty when skipped
  std::optional<double> transformers;  // docs/device.md (H200), same unit
  std::optional<double> floor;         // physical floor on this card, same unit
  std::string note;                    // context, tokens, or why the row was skipped
  bool skipped = false;
};

struct EngineBenchReport {
  std::string device;   // "NVIDIA H200", "CPU (2 threads)"
  std::string backend;  // engine backend_name()
  std::string weights;  // "dummy (seed 0)" or the model folder
  std::string model;    // "Pixtral-12B (12.68 B parameters)" or the folder's config in words
  bool real_size = false;
  double load_s = 0;
  std::vector<BenchRow> rows;
};

struct EngineBenchOptions {
  inference::Device device = inference::Device::kCpu;
  std::string model_dir;  // empty: Pixtral-12B's configuration
  inference::LoadFormat load_format = inference::LoadFormat::kDummy;
  std::uint64_t seed = 0;
  inference::AttentionChoice attention = inference::AttentionChoice::kAuto;  // CUDA
  int threads = 0;
  int decode_tokens = 32;          // per decode row
  int window_decode_tokens = 128;  // after a window's prefill
  std::vector<BenchRowSpec> rows;
};

// Loads the engine and runs the rows in order; `on_row` sees the report after each row (for
// progress and for a JSON file that survives a run cut short). Throws Error on load failures.
EngineBenchReport run_engine_bench(const EngineBenchOptions& options,
                                   const std::function<void(const EngineBenchReport&)>& on_row);

// One line per row: value, transformers and ratio, floor and ratio, note.
std::string format_bench_row(const BenchRow& row);
std::string bench_report_json(const EngineBenchReport& report);

// What `framescribe bench engine` prints while it runs: a header (device, backend, model,
// weights, load time) before the first row, then each new row as a line on `table`; with a
// `json_file` (not "-"), the whole report rewritten there after each row, so a run cut short
// keeps what it measured. Throws Error(kIo) when the file cannot be written. Not thread-safe.
class BenchPrinter {
 public:
  BenchPrinter(std::FILE* table, std::string json_file)
      : table_(table), json_file_(std::move(json_file)) {}
  void update(const EngineBenchReport& so_far);

 private:
  std::FILE* table_;
  std::string json_file_;
  std::size_t printed_ = 0;
  bool header_ = false;
};

}  // namespace framescribe::bench
