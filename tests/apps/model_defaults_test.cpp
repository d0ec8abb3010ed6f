// Model selection and a model's recommended settings, through the CLI (label integration):
// `framescribe summarize` reads <model>/framescribe.json ({"fps", "max_edge", "max_tokens"}) for
// the options the user did not give, finds the model in $FRAMESCRIBE_MODEL when --model is
// absent, and reports malformed settings with the file's name. Fixture A's tiny model and the
// bundled sample clip; --dry-run plans the windows without loading weights.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "apps/tiny_model.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSample = fs::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";

class ModelDefaults : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FRAMESCRIBE_MODEL");
    model_ = testing::make_tiny_model(tmp_.path() / "model");
  }
  void TearDown() override { unsetenv("FRAMESCRIBE_MODEL"); }
  void write_settings(const std::string& text) {
    std::ofstream(model_ / "framescribe.json", std::ios::trunc) << text;
  }
  json plan(std::vector<std::string> extra, bool with_model = true) {
    std::vector<std::string> args = {"summarize", kSample.string(), "--dry-run", "--json"};
    if (with_model) args.insert(args.end(), {"--model", model_.string()});
    args.insert(args.end(), extra.begin(), extra.end());
    const testing::CliRun r = testing::run_framescribe(args, tmp_.path() / "err.txt");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  testing::TempDir tmp_;
  fs::path model_;
};

TEST_F(ModelDefaults, WithoutSettingsTheCommandDefaultsApply) {
  const json j = plan({});
  EXPECT_EQ(j["frame_width_px"], 128);  // the clip is 128x128, below the 512 px default
  EXPECT_EQ(j["frames"], 16);           // 16 s at the default 1 fps
  EXPECT_EQ(j["answer_reserve_tokens"], 512);
}

TEST_F(ModelDefaults, SettingsApplyToWhatTheUserDidNotGive) {
  write_settings(R"({"fps": 2, "max_edge": 64, "max_tokens": 100, "about": "test"})");
  const json j = plan({});
  EXPECT_EQ(j["frame_width_px"], 64);
  EXPECT_EQ(j["frames"], 32);
  EXPECT_EQ(j["answer_reserve_tokens"], 100);
}

TEST_F(ModelDefaults, CommandLineWins) {
  write_settings(R"({"fps": 2, "max_edge": 64, "max_tokens": 100})");
  const json j = plan({"--fps", "0.5", "--max-edge", "32", "--max-tokens", "50"});
  EXPECT_EQ(j["frame_width_px"], 32);
  EXPECT_EQ(j["frames"], 8);
  EXPECT_EQ(j["answer_reserve_tokens"], 50);
  // Another sampling mode or size rule also replaces the model's.
  const json k = plan({"--every", "40", "--max-frame-tokens", "4"});
  EXPECT_EQ(k["frames"], 4);  // 160 frames at 10 fps, every 40th
  EXPECT_LE(k["image_tokens_per_frame"].get<int>(), 4);
}

TEST_F(ModelDefaults, EnvironmentNamesTheModelWhenNoOptionDoes) {
  write_settings(R"({"max_edge": 32})");
  setenv("FRAMESCRIBE_MODEL", model_.c_str(), 1);
  const json j = plan({}, /*with_model=*/false);
  EXPECT_EQ(j["frame_width_px"], 32);
}

TEST_F(ModelDefaults, MalformedSettingsNameTheFile) {
  for (const std::string bad :
       {R"({"fps": "fast"})", R"({"fps": 0})", R"({"max_edge": 100})", R"({"max_edge": 2048})",
        R"({"max_tokens": -1})", R"({"about": 3})", "{not json", "[1, 2]", ""}) {
    write_settings(bad);
    const testing::CliRun r = testing::run_framescribe(
        {"summarize", kSample.string(), "--model", model_.string(), "--dry-run"},
        tmp_.path() / "err.txt");
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_NE(r.err.find("framescribe.json"), std::string::npos) << bad << ": " << r.err;
  }
}

TEST_F(ModelDefaults, NoModelFoundSaysWhatToGive) {
  // $FRAMESCRIBE_MODEL naming a folder without a model: a clear error, exit 1, no crash.
  setenv("FRAMESCRIBE_MODEL", (tmp_.path() / "empty").c_str(), 1);
  fs::create_directories(tmp_.path() / "empty");
  const testing::CliRun r =
      testing::run_framescribe({"summarize", kSample.string()}, tmp_.path() / "err.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace framescribe
