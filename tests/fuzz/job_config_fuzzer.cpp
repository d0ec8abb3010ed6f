// libFuzzer target for the batch job-file parser (yaml-cpp -> typed, validated settings). Any
// input must either parse or throw framescribe::Error(kInvalidArgument) whose message starts
// with "fuzz.yaml:LINE:COLUMN: " (1-based); nothing else may escape, crash or hang. A file that
// parses must satisfy the documented invariants (at least one job, every job with inputs, values
// in range).
//
//   cmake --preset fuzz && cmake --build build/fuzz --target job_config_fuzzer
//   build/fuzz/tests/fuzz/job_config_fuzzer -dict=tests/fuzz/job_config.dict CORPUS_COPY
// or tools/fuzz.sh [seconds] job_config.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/job_config.h"

namespace {

[[noreturn]] void broken_promise(const char* what, const std::string& detail) {
  std::fprintf(stderr, "job_config_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool well_placed(const std::string& message) {
  static const std::regex kPrefix(R"(^fuzz\.yaml:[1-9][0-9]*:[1-9][0-9]*: [^\n]*$)");
  return std::regex_match(message, kPrefix);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace batch = framescribe::pipeline::batch;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const batch::JobFile job = batch::parse_job_text(text, "fuzz.yaml", "/nonexistent-base");
    if (job.jobs.empty()) broken_promise("parsed without jobs", text);
    if (job.model.empty()) broken_promise("parsed without a model", text);
    if (job.batch.parallel < 1 || job.batch.parallel > 64)
      broken_promise("parallel out of range", text);
    for (const batch::JobSpec& j : job.jobs) {
      if (j.inputs.empty() || j.name.empty()) broken_promise("a job without name or inputs", text);
      const batch::SamplingSettings& s = j.settings.sampling;
      const int modes = (s.fps > 0) + (s.every > 0) + s.keyframes + (s.scene >= 0);
      if (modes > 1) broken_promise("two sampling modes", text);
      if (s.max_edge_px < 16 || s.max_edge_px > 8192) broken_promise("max_edge out of range", text);
      if (j.settings.outputs.formats.empty()) broken_promise("no output format", text);
    }
  } catch (const framescribe::Error& e) {
    if (e.code() != framescribe::ErrorCode::kInvalidArgument)
      broken_promise("unexpected error code", e.what());
    if (!well_placed(e.what())) broken_promise("message without file:line:column", e.what());
  }
  return 0;
}
