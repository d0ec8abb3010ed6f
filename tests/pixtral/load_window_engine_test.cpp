// pixtral/load_window_engine.h: the demo model folder loaded as summarize/batch/monitor load it.
#include "framescribe/pixtral/load_window_engine.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "framescribe/core/error.h"

namespace framescribe::pixtral {
namespace {

namespace fs = std::filesystem;
const std::string kDemo = (fs::path(FS_SOURCE_DIR) / "samples/models/framescribe-demo").string();

TEST(LoadWindowEngine, LoadsTheDemoModelWithItsWindowOptions) {
  PixtralWindowOptions wo;
  wo.max_answer_tokens = 17;
  wo.model_name = "demo-name";
  const inference::EngineChoice choice;
  const auto engine = load_window_engine(kDemo, choice, inference::engine_options(choice), wo);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->max_answer_tokens(), 17);
  EXPECT_EQ(engine->model_name(), "demo-name");
  // The tokenizer is the folder's: a text prompt costs tokens.
  EXPECT_GT(engine->text_prompt_tokens("describe the shapes"), 0);
}

TEST(LoadWindowEngine, DummyWeightsNeedOnlyTheConfigAndTokenizer) {
  const fs::path dir = fs::temp_directory_path() / "fs_load_window_engine_dummy";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fs::path(kDemo) / "config.json", dir / "config.json");
  fs::copy_file(fs::path(kDemo) / "tekken.json", dir / "tekken.json");
  const inference::EngineChoice dummy{.device = "cpu", .load_format = "dummy"};
  EXPECT_NE(load_window_engine(dir.string(), dummy, inference::engine_options(dummy), {}), nullptr);
  // The same folder as a checkpoint has no weights: an error, not an engine.
  const inference::EngineChoice checkpoint;
  EXPECT_THROW(
      (void)load_window_engine(dir.string(), checkpoint, inference::engine_options(checkpoint), {}),
      Error);
  fs::remove_all(dir);
}

TEST(LoadWindowEngine, AFolderWithoutAModelIsAnError) {
  const inference::EngineChoice choice;
  EXPECT_THROW((void)load_window_engine((fs::path(FS_SOURCE_DIR) / "samples").string(), choice,
                                        inference::engine_options(choice), {}),
               Error);
}

}  // namespace
}  // namespace framescribe::pixtral
