#include "framescribe/pipeline/run_settings.h"

#include <fstream>
#include <sstream>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/job_run.h"  // seconds_to_ns_checked

namespace framescribe::pipeline {
namespace {

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kNotFound, what << " " << path << ": cannot read it");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

PipelineOptions pipeline_options(const RunSettings& s, std::int64_t context_tokens,
                                 std::int64_t answer_reserve_tokens, const std::string& video) {
  PipelineOptions p;
  p.packing.context_tokens = context_tokens;
  p.packing.answer_reserve_tokens = answer_reserve_tokens;
  p.packing.window_ns = seconds_to_ns_checked(s.window_s, "--window-seconds");
  p.packing.max_frames_per_window = s.max_frames_per_window;
  p.packing.overlap_ns = seconds_to_ns_checked(s.overlap_s, "--overlap");
  p.packing.carry_tokens = s.carry_previous ? s.carry_tokens : 0;
  p.packing.prompt_template =
      !s.prompt_file.empty() ? read_text_file(s.prompt_file, "--prompt-file") : s.prompt;
  p.packing.video_name = video;
  p.max_frames_in_flight = s.max_frames_in_flight;
  p.carry_previous = s.carry_previous;
  p.summary = !s.no_summary;
  p.summary_template = !s.summary_prompt_file.empty()
                           ? read_text_file(s.summary_prompt_file, "--summary-prompt-file")
                           : s.summary_prompt;
  validate(p.packing);
  return p;
}

}  // namespace framescribe::pipeline
