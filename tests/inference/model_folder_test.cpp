// The model folder (inference/model_folder.h): framescribe.json, the folder lookup, the engine
// options of a command's choices, the tokenizer-belongs-to-model check; and the image fit of a
// prompt (inference/image_fit.h). Temporary folders; Fixture A's tokenizer made in memory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/inference/image_fit.h"
#include "framescribe/inference/model_folder.h"
#include "inference/tiny_tokenizer.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using namespace framescribe::inference;

class ModelFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fs-model-folder-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / "framescribe.json") << text; }
  // The error code and message of read_model_defaults on `text`.
  Error read_error(const std::string& text) {
    write(text);
    try {
      (void)read_model_defaults(dir_);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "no error for " << text;
    return Error(ErrorCode::kInternal, "none");
  }
  fs::path dir_;
};

TEST_F(ModelFolder, AbsentFileGivesNoDefaults) {
  const ModelDefaults d = read_model_defaults(dir_);
  EXPECT_FALSE(d.fps.has_value());
  EXPECT_FALSE(d.max_edge.has_value());
  EXPECT_FALSE(d.max_tokens.has_value());
  EXPECT_TRUE(d.about.empty());
}

TEST_F(ModelFolder, ReadsEveryKey) {
  write(R"({"fps": 2.5, "max_edge": 64, "max_tokens": 100, "about": "tiny"})");
  const ModelDefaults d = read_model_defaults(dir_);
  EXPECT_DOUBLE_EQ(d.fps.value_or(0), 2.5);
  EXPECT_EQ(d.max_edge.value_or(0), 64);
  EXPECT_EQ(d.max_tokens.value_or(0), 100);
  EXPECT_EQ(d.about, "tiny");
}

TEST_F(ModelFolder, MalformedValuesNameTheFileAndKey) {
  for (const auto& [text, key] :
       std::vector<std::pair<std::string, std::string>>{{R"({"fps": 0})", "\"fps\""},
                                                        {R"({"fps": "1"})", "\"fps\""},
                                                        {R"({"max_edge": 60})", "\"max_edge\""},
                                                        {R"({"max_edge": 2048})", "\"max_edge\""},
                                                        {R"({"max_tokens": -1})", "\"max_tokens\""},
                                                        {R"({"about": 3})", "\"about\""},
                                                        {R"([1, 2])", "expected a JSON object"},
                                                        {"{not json", "not valid JSON"}}) {
    const Error e = read_error(text);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("framescribe.json"), std::string::npos) << e.what();
  }
}

TEST_F(ModelFolder, GivenThenEnvironmentThenDemoModel) {
  const char* old = std::getenv("FRAMESCRIBE_MODEL");
  const std::string saved = old ? old : "";
  bool demo = true;
  EXPECT_EQ(resolve_model_dir("given/dir", &demo), fs::path("given/dir"));
  EXPECT_FALSE(demo);
  ::setenv("FRAMESCRIBE_MODEL", dir_.c_str(), 1);
  EXPECT_EQ(resolve_model_dir("", &demo), dir_);
  EXPECT_FALSE(demo);
  ::unsetenv("FRAMESCRIBE_MODEL");
  // The bundled demo model in the source tree, with its recommended settings.
  ModelRequest r;
  const ModelSettings s = resolve_model_settings(r);
  EXPECT_TRUE(s.is_demo);
  EXPECT_EQ(s.dir.filename(), kDemoModelName);
  EXPECT_EQ(s.recommended.max_edge.value_or(0), 64);
  EXPECT_EQ(s.recommended.max_tokens.value_or(0), 192);
  if (!saved.empty()) ::setenv("FRAMESCRIBE_MODEL", saved.c_str(), 1);
}

TEST_F(ModelFolder, SettingsCarryTheEngineChoice) {
  write(R"({"max_tokens": 7})");
  ModelRequest r;
  r.model = dir_.string();
  r.engine = {.device = "cuda", .load_format = "dummy"};
  r.threads = 3;
  r.context = 4096;
  const ModelSettings s = resolve_model_settings(r);
  EXPECT_EQ(s.dir, dir_);
  EXPECT_FALSE(s.is_demo);
  EXPECT_EQ(s.recommended.max_tokens.value_or(0), 7);
  EXPECT_EQ(s.engine.device, Device::kCuda);
  EXPECT_EQ(s.engine.load_format, LoadFormat::kDummy);
  EXPECT_EQ(s.engine.n_threads, 3);
  EXPECT_EQ(s.engine.max_context_tokens, 4096);
  r.engine.device = "tpu";
  try {
    (void)resolve_model_settings(r);
    ADD_FAILURE() << "tpu accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--device must be cpu or cuda"), std::string::npos);
  }
}

TEST(DemoModelNotice, OnlyForTheDemoModelWithItsAboutText) {
  inference::ModelSettings s;
  s.dir = "/models/demo";
  EXPECT_EQ(inference::demo_model_notice(s, "videos"), "");  // a model the user chose
  s.is_demo = true;
  EXPECT_EQ(inference::demo_model_notice(s, "streams"),
            "framescribe: no --model given: using the bundled demo model /models/demo\n"
            "             (it knows only a synthetic world of moving shapes)\n"
            "             For real streams give --model DIR with Pixtral-12B "
            "(mistral-community/pixtral-12b or mistralai/Pixtral-12B-2409).\n");
  s.recommended.about = "coloured shapes only";
  const std::string notice = inference::demo_model_notice(s, "videos");
  EXPECT_NE(notice.find("(coloured shapes only)\n"), std::string::npos) << notice;
  EXPECT_NE(notice.find("For real videos give"), std::string::npos) << notice;
}

TEST(ModelDisplayName, IsTheFolderName) {
  EXPECT_EQ(model_display_name("models/pixtral-12b/"), "pixtral-12b");
  EXPECT_EQ(model_display_name("models/pixtral-12b"), "pixtral-12b");
}

TEST(TokenizerMatches, VocabularyAndImageToken) {
  const Tokenizer tok = testing::tiny_tokenizer();  // [IMG] = 10
  ModelConfig config;
  config.text.n_vocab = static_cast<int>(tok.vocab_size());
  config.image_token_id = 10;
  EXPECT_NO_THROW(check_tokenizer_matches(tok, config));
  config.image_token_id = 11;
  EXPECT_NO_THROW(check_tokenizer_matches(tok, config, /*images=*/false));
  try {
    check_tokenizer_matches(tok, config);
    ADD_FAILURE() << "another [IMG] id accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMalformedModel);
    EXPECT_NE(std::string(e.what()).find("[IMG] is id 10"), std::string::npos) << e.what();
  }
  config.image_token_id = 10;
  config.text.n_vocab = 100;
  try {
    check_tokenizer_matches(tok, config, /*images=*/false);
    ADD_FAILURE() << "a larger vocabulary accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMalformedModel);
    EXPECT_NE(std::string(e.what()).find("more than the model's vocabulary of 100"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("does not belong to this model"), std::string::npos);
  }
}

TEST(ImageFit, Thousands) {
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(thousands(1000), "1,000");
  EXPECT_EQ(thousands(1234567), "1,234,567");
  EXPECT_EQ(thousands(-1234), "-1,234");
}

TEST(ImageFit, LargestEdgeAndMessage) {
  // 1024x512 at edge 512: 512x256, 16 rows of 33 = 528 tokens; at 528: 528x272 (264 rounded up),
  // 17 rows of 34 = 578 tokens. With 10 other tokens and a context of 580, 512 is the largest.
  const std::vector<std::pair<int, int>> sizes = {{1024, 512}};
  EXPECT_EQ(largest_fitting_edge(sizes, 16, 1024, 10, 580), 512);
  EXPECT_EQ(largest_fitting_edge(sizes, 16, 1024, 10, 10), 0);
  EXPECT_EQ(image_fit_problem(579, 569, sizes, 16, 528, 580), "");
  EXPECT_EQ(image_fit_problem(588, 578, sizes, 16, 528, 580),
            "the image needs 578 tokens (the prompt 588 in all); the context is 580: use "
            "--max-edge 512");
  EXPECT_EQ(image_fit_problem(2588, 578, {{1024, 512}, {64, 64}}, 16, 528, 580),
            "the images need 578 tokens (the prompt 2,588 in all); the context is 580: no "
            "--max-edge fits; give fewer images or a shorter question");
}

}  // namespace
}  // namespace framescribe
