// pipeline/run_settings.h: summarize's window, prompt and summary settings as PipelineOptions.
#include "framescribe/pipeline/run_settings.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include <gtest/gtest.h>

#include "framescribe/core/error.h"

namespace framescribe::pipeline {
namespace {

namespace fs = std::filesystem;

// The error pipeline_options throws for `s`: its code and message ("accepted" when none).
std::pair<ErrorCode, std::string> error_of(const RunSettings& s) {
  try {
    (void)pipeline_options(s, 0, 64, "v");
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {ErrorCode::kInternal, "accepted"};
}

TEST(RunSettings, TimesCarryAndInlinePrompts) {
  RunSettings s;
  s.window_s = 30;
  s.overlap_s = 2.5;
  s.max_frames_per_window = 6;
  s.max_frames_in_flight = 40;
  s.carry_tokens = 100;  // reserved only with carry_previous
  s.prompt = "describe {start}-{end}";
  s.summary_prompt = "sum up {video}";
  PipelineOptions p = pipeline_options(s, 4096, 200, "a.mp4");
  EXPECT_EQ(p.packing.context_tokens, 4096);
  EXPECT_EQ(p.packing.answer_reserve_tokens, 200);
  EXPECT_EQ(p.packing.window_ns, 30'000'000'000);
  EXPECT_EQ(p.packing.overlap_ns, 2'500'000'000);
  EXPECT_EQ(p.packing.max_frames_per_window, 6);
  EXPECT_EQ(p.packing.carry_tokens, 0);
  EXPECT_FALSE(p.carry_previous);
  EXPECT_EQ(p.packing.prompt_template, "describe {start}-{end}");
  EXPECT_EQ(p.packing.video_name, "a.mp4");
  EXPECT_EQ(p.max_frames_in_flight, 40);
  EXPECT_TRUE(p.summary);
  EXPECT_EQ(p.summary_template, "sum up {video}");
  s.carry_previous = true;
  s.no_summary = true;
  p = pipeline_options(s, 4096, 200, "a.mp4");
  EXPECT_EQ(p.packing.carry_tokens, 100);
  EXPECT_TRUE(p.carry_previous);
  EXPECT_FALSE(p.summary);
}

TEST(RunSettings, PromptFilesWinAndAMissingOneIsNamed) {
  const fs::path dir = fs::temp_directory_path() / "fs_run_settings_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "w.txt", std::ios::binary) << "from the file {video}\n";
  std::ofstream(dir / "s.txt", std::ios::binary) << "summary file";
  RunSettings s;
  s.prompt = "inline";
  s.prompt_file = (dir / "w.txt").string();
  s.summary_prompt_file = (dir / "s.txt").string();
  const PipelineOptions p = pipeline_options(s, 0, 64, "v");
  EXPECT_EQ(p.packing.prompt_template, "from the file {video}\n");
  EXPECT_EQ(p.summary_template, "summary file");

  s.summary_prompt_file = (dir / "missing.txt").string();
  const auto [code, message] = error_of(s);
  EXPECT_EQ(code, ErrorCode::kNotFound);
  EXPECT_NE(message.find("--summary-prompt-file"), std::string::npos) << message;
  EXPECT_NE(message.find("missing.txt"), std::string::npos) << message;
  fs::remove_all(dir);
}

TEST(RunSettings, BadTimesNameTheirOption) {
  RunSettings s;
  s.window_s = -1;
  const auto [code, message] = error_of(s);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(message.find("--window-seconds"), std::string::npos) << message;
  s = {};
  s.overlap_s = 1e300;
  EXPECT_NE(error_of(s).second.find("--overlap"), std::string::npos) << error_of(s).second;
}

}  // namespace
}  // namespace framescribe::pipeline
