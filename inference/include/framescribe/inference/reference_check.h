// Checks an engine against reference outputs in the fixtures' format (tests/data/reference/,
// made by transformers; see its PROVENANCE.md): expected.safetensors with pixel_values,
// image_sizes, input_ids, image_features, logits, generated_ids, logits_full.
//
//   auto engine = load_engine(model_dir, {});
//   ReferenceCheckResult r = run_reference_check(*engine, model_dir / "expected.safetensors", {});
//   std::cout << format_report(r);   // r.passed
//
// Four checks: the projector output for the images; the logits of one prefill over the prompt;
// a cached token-by-token decode of the prompt plus generated ids against logits_full; and
// greedy generation (EOS and [IMG] masked) against generated_ids. Errors are max|a - b| / max|b|
// over each tensor.
//
// With `dump_file` set the engine's own outputs are also written there (safetensors, float32
// and int64, the expected file's names and shapes): image_features, logits, logits_full (the
// cached decode) and generated_ids (the engine's greedy tokens). tools/fixtures/
// crosscheck_random.py measures them against a float64 reference that the expected file, being
// float32, cannot hold.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/inference/engine.h"

namespace framescribe::inference {

struct ReferenceCheckOptions {
  double tolerance = 1e-4;            // the fixtures' README: a float32 engine stays below 1e-4
  std::filesystem::path dump_file{};  // empty: write nothing ({} keeps {tolerance} warning-free)
};

struct ReferenceCheckResult {
  int n_images = 0;
  std::int64_t n_prompt_tokens = 0;
  std::int64_t n_image_patches = 0;
  double image_features_rel_err = 0;
  double logits_rel_err = 0;
  double logits_full_rel_err = 0;  // through the cached token-by-token decode
  std::vector<std::int32_t> expected_tokens;
  std::vector<std::int32_t> engine_tokens;
  int tokens_matching = 0;  // length of the common prefix
  double tolerance = 0;
  double seconds = 0;
  bool passed = false;
  std::vector<std::string> failures;  // one line per failed check
};

// Throws Error if the expected file is missing or malformed, or does not fit the engine's model,
// or (kIo) if the dump file cannot be written.
ReferenceCheckResult run_reference_check(Engine& engine, const std::filesystem::path& expected_file,
                                         const ReferenceCheckOptions& options);

// max|a - b| / max|b|; infinity if sizes differ or `a` holds a non-finite value.
double max_relative_error(std::span<const float> a, std::span<const float> b);

std::string format_report(const ReferenceCheckResult& result);

}  // namespace framescribe::inference
