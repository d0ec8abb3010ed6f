// `framescribe ask` end to end (label integration): the built binary, run as a subprocess on
// fixture A's tiny model with a test tekken.json sized to its 512-id vocabulary, must give the
// same greedy tokens as the engine called directly with prompt ids written out here by hand;
// an image served over http by a local server gives the same answer as the same file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cli_run.h"
#include "apps/tiny_model.h"
#include "decoder/image_test_util.h"
#include "framescribe/core/event.h"
#include "framescribe/decoder/still_image.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/tokenizer.h"
#include "inference/test_files.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliRun;
using testing::run_framescribe;

// Fixture A's ids (tests/data/reference/pixtral_tiny_a/config.json and Pixtral's tekken order).
constexpr int kBos = 1, kEos = 2, kInst = 3, kInstEnd = 4, kImg = 10, kImgBreak = 12, kImgEnd = 13;

class Ask : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::make_tiny_model(dir_ / "model");
    // Two pictures of different shapes: 40x24 (3x2 patches) and 20x36 (2x3 patches).
    image_a_ = dir_ / "a.png";
    ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(40, 24), 40, 24, "rgb24", image_a_));
    const fs::path b = dir_ / "b.png";
    ASSERT_TRUE(
        testing::ffmpeg_encode(testing::quadrants_rgb(20, 36), 20, 36, "rgb24", b, "-vf hflip"));
    data_uri_b_ = "data:image/png;base64," + testing::base64_encode(testing::file_bytes(b));
  }

  // The engine called directly: the same image loader and preprocessing, prompt ids built here.
  inference::GenerateResult direct(
      const std::vector<std::int32_t>& ids, const std::vector<std::string>& sources, int max_tokens,
      inference::LoadFormat format = inference::LoadFormat::kCheckpoint) {
    std::vector<inference::PixelImage> px;
    for (const std::string& s : sources)
      px.push_back(inference::preprocess_image(decoder::load_image(s).view()));
    inference::EngineOptions eo;
    eo.n_threads = 2;  // as the runs of the binary below
    eo.load_format = format;
    auto engine = inference::load_engine(model_, eo);
    inference::GenerateOptions go;
    go.max_new_tokens = max_tokens;
    go.stop_tokens = {kEos};
    return inference::generate(*engine, ids, px, go);
  }

  CliRun ask(std::vector<std::string> args) {
    std::vector<std::string> full = {"ask", "--model", model_.string(), "--threads", "2"};
    full.insert(full.end(), args.begin(), args.end());
    return run_framescribe(full, dir_ / "stderr.txt");
  }

  testing::TempDir dir_;
  fs::path model_, image_a_;
  std::string data_uri_b_;
  const std::string question_ = "What differs between these two pictures?";
};

// [IMG] x cols then [IMG_BREAK], per row; the last [IMG_BREAK] is [IMG_END].
void append_image_block(std::vector<std::int32_t>& ids, int cols, int rows) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) ids.push_back(kImg);
    ids.push_back(r + 1 == rows ? kImgEnd : kImgBreak);
  }
}

TEST_F(Ask, GreedyTokensMatchTheEngineCalledDirectly) {
  const int max_tokens = 12;
  CliRun r = ask({"--image", image_a_.string(), "--image", data_uri_b_, "--max-tokens",
                  std::to_string(max_tokens), "--json", question_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);

  // BOS [INST] image a (3x2) image b (2x3) question [/INST], by hand. Text ids: the byte
  // tokens of this vocabulary are id = 256 + byte (no merges).
  std::vector<std::int32_t> ids = {kBos, kInst};
  append_image_block(ids, 3, 2);
  append_image_block(ids, 2, 3);
  for (unsigned char c : question_) ids.push_back(256 + c);
  ids.push_back(kInstEnd);

  const inference::GenerateResult want = direct(ids, {image_a_.string(), data_uri_b_}, max_tokens);
  ASSERT_FALSE(want.tokens.empty()) << "the fixture model stopped at once; the test shows nothing";
  EXPECT_EQ(j.at("prompt_tokens").get<std::int64_t>(), static_cast<std::int64_t>(ids.size()));
  EXPECT_EQ(j.at("tokens").get<std::vector<std::int32_t>>(), want.tokens);
  EXPECT_EQ(j.at("generated_tokens").get<std::size_t>(), want.tokens.size());
  EXPECT_EQ(j.at("stop_reason").get<std::string>(), inference::to_string(want.stop_reason));
  // The answer: the decoded bytes; in JSON with invalid UTF-8 (a random tiny model may spell
  // it) replaced by U+FFFD, as the command writes it.
  const auto tok = inference::Tokenizer::load(model_ / "tekken.json");
  const std::string text = tok.decode(std::vector<int>(want.tokens.begin(), want.tokens.end()));
  const std::string as_json =
      json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace))
          .get<std::string>();
  EXPECT_EQ(j.at("answer").get<std::string>(), as_json);
  ASSERT_EQ(j.at("images").size(), 2u);
  EXPECT_EQ(j["images"][0]["tokens"].get<int>(), 2 * 4);
  EXPECT_EQ(j["images"][1]["tokens"].get<int>(), 3 * 3);
  EXPECT_EQ(j["images"][1]["source"].get<std::string>().find(data_uri_b_), std::string::npos)
      << "a data URI is shortened in the output";
  for (const char* k : {"images", "load", "vision", "prefill", "decode", "total"})
    EXPECT_TRUE(j.at("timings_ms").contains(k)) << k;

  // The JSON is plain ASCII: model text reaches a terminal only escaped (\uXXXX), C1 and bidi
  // controls included.
  for (const unsigned char c : r.out) {
    ASSERT_TRUE((c >= 0x20 && c < 0x7f) || c == '\n') << "byte " << int(c) << " in " << r.out;
  }

  // Without --json the same answer is streamed as plain text, sanitised as events are
  // (core::TextSanitizer; its own tests cover sequences split across tokens).
  CliRun plain = ask({"--image", image_a_.string(), "--image", data_uri_b_, "--max-tokens",
                      std::to_string(max_tokens), question_});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, core::sanitize_text(text) + "\n");
}

TEST_F(Ask, SystemPromptGoesInsideTheUserTurn) {
  const std::string system = "Answer briefly.";
  CliRun r = ask(
      {"--image", image_a_.string(), "--system", system, "--max-tokens", "6", "--json", question_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  // An image turn with a system prompt: [INST] system "\n\n" image question [/INST].
  std::vector<std::int32_t> ids = {kBos, kInst};
  for (unsigned char c : system + "\n\n") ids.push_back(256 + c);
  append_image_block(ids, 3, 2);
  for (unsigned char c : question_) ids.push_back(256 + c);
  ids.push_back(kInstEnd);
  const inference::GenerateResult want = direct(ids, {image_a_.string()}, 6);
  EXPECT_EQ(j.at("prompt_tokens").get<std::int64_t>(), static_cast<std::int64_t>(ids.size()));
  EXPECT_EQ(j.at("tokens").get<std::vector<std::int32_t>>(), want.tokens);
}

TEST_F(Ask, HttpUrlGivesTheSameAnswerAsTheFile) {
  const auto png = testing::file_bytes(image_a_);
  testing::LocalHttpServer http(std::chrono::seconds(60));  // stops before `png` goes
  http.server().Get("/a.png", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  http.start();
  CliRun from_file = ask({"--image", image_a_.string(), "--max-tokens", "8", "--json", question_});
  CliRun from_url = ask({"--image", http.url("/a.png"), "--max-tokens", "8", "--json", question_});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_EQ(from_url.exit_code, 0) << from_url.err;
  const json a = json::parse(from_file.out), b = json::parse(from_url.out);
  EXPECT_EQ(a.at("tokens"), b.at("tokens"));
  EXPECT_EQ(a.at("answer"), b.at("answer"));
  EXPECT_EQ(b["images"][0]["source"].get<std::string>(), http.url("/a.png"));
}

TEST_F(Ask, BadImagesFailWithAMessageNamingThem) {
  const fs::path text = dir_ / "notes.png";
  testing::write_bytes(text, {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  struct Case {
    std::string image, expect;
  };
  const Case cases[] = {
      {text.string(), "notes.png"},
      {(dir_ / "missing.jpg").string(), "missing.jpg"},
      {"data:image/png;base64,@@@", "invalid base64"},
      {"http://user:pw1234@127.0.0.1:1/x.png", "127.0.0.1:1/x.png"},
  };
  for (const Case& c : cases) {
    CliRun r = ask({"--json", "--image", c.image, question_});  // the question right after
    EXPECT_EQ(r.exit_code, 1) << c.image << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("pw1234"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // A usage error is not a failure (1) or a success (0): CLI11's own code.
  const int usage = ask({"--max-tokens", "-3", question_}).exit_code;
  EXPECT_NE(usage, 0);
  EXPECT_NE(usage, 1);
}

// --load-format dummy: a folder with only the config and tokenizer runs, with the random weights
// the engine generates for seed 0 (the answer is meaningless, but must be that engine's answer).
TEST_F(Ask, DummyWeightsNeedOnlyTheConfigAndTokenizer) {
  const fs::path bare = dir_ / "bare";
  fs::create_directories(bare);
  for (const auto& e : fs::directory_iterator(model_)) {
    if (e.path().extension() != ".safetensors") fs::copy_file(e.path(), bare / e.path().filename());
  }
  const std::vector<std::string> common = {"ask", "--model", bare.string(),     "--threads",
                                           "2",   "--image", image_a_.string(), "--max-tokens",
                                           "6"};
  std::vector<std::string> without = common;
  without.push_back(question_);
  const CliRun missing = run_framescribe(without, dir_ / "stderr.txt");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("model.safetensors"), std::string::npos) << missing.err;

  std::vector<std::string> args = common;
  args.insert(args.end(), {"--load-format", "dummy", "--json", question_});
  const CliRun r = run_framescribe(args, dir_ / "stderr.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("meaningless"), std::string::npos) << r.err;
  const json j = json::parse(r.out);
  std::vector<std::int32_t> ids = {kBos, kInst};
  append_image_block(ids, 3, 2);
  for (unsigned char c : question_) ids.push_back(256 + c);
  ids.push_back(kInstEnd);
  const inference::GenerateResult want =
      direct(ids, {image_a_.string()}, 6, inference::LoadFormat::kDummy);
  EXPECT_EQ(j.at("tokens").get<std::vector<std::int32_t>>(), want.tokens);
}

// Images too large for the context: a usage error (exit 2) before the weights load, naming the
// tokens, the context and the largest --max-edge that fits; that edge is checked here with the
// patch-grid rule directly (the tiny model's context is 8,192 tokens; two 1024 px squares need
// 2 x 64 x 65 = 8,320).
TEST_F(Ask, ImagesTooLargeForTheContextNameTheMaxEdgeThatFits) {
  const fs::path big = dir_ / "big.png";
  ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(1024, 1024), 1024, 1024, "rgb24", big));
  const CliRun r = ask({"--image", big.string(), "--image", big.string(), question_});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("the images need 8,320 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the context is 8,192"), std::string::npos) << r.err;
  const std::size_t at = r.err.find("use --max-edge ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const int edge = std::stoi(r.err.substr(at + 15));
  // <s>[INST], the question's bytes, [/INST]: the prompt's text tokens.
  const int text_tokens = 3 + static_cast<int>(question_.size());
  auto prompt_tokens = [&](int e) {
    return text_tokens + 2 * inference::target_size(1024, 1024, e, 16).n_tokens();
  };
  EXPECT_EQ(edge % 16, 0);
  EXPECT_LT(prompt_tokens(edge), 8192) << edge;
  EXPECT_GE(prompt_tokens(edge + 16), 8192) << edge;
}

// An extreme aspect ratio leaves one patch across: said, not silently described as a strip.
TEST_F(Ask, AnImageShrunkToAStripIsWarnedAbout) {
  const fs::path strip = dir_ / "strip.png";
  ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(4000, 40), 4000, 40, "rgb24", strip));
  const CliRun r = ask({"--max-tokens", "1", "--image", strip.string(), question_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("strip.png: 4000x40 becomes 1024x16, one patch high"), std::string::npos)
      << r.err;
  // An ordinary picture gives no such warning.
  const CliRun plain = ask({"--max-tokens", "1", "--image", image_a_.string(), question_});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("one patch"), std::string::npos) << plain.err;
}

// No --model: the bundled demo model answers, as summarize falls back to it, with a notice on
// stderr that global -q (given after the command) hides; its framescribe.json's max_edge (64)
// and max_tokens (192) apply to the options not given, and --max-edge given wins.
TEST_F(Ask, WithoutAModelTheDemoModelAnswers) {
  const fs::path demo = fs::path(FS_SOURCE_DIR) / "samples" / "models" / "framescribe-demo";
  if (!fs::is_regular_file(demo / "model.safetensors"))
    GTEST_SKIP() << "the demo model is not under " << demo;
  unsetenv("FRAMESCRIBE_MODEL");  // the default model must be the bundled one
  const fs::path picture = dir_ / "picture.png";
  ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(320, 240), 320, 240, "rgb24", picture));
  const std::string notice = "no --model given: using the bundled demo model";

  const CliRun r = run_framescribe(
      {"ask", "--threads", "2", "--image", picture.string(), "--json", "What do you see?"},
      dir_ / "stderr.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(notice), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("framescribe-demo"), std::string::npos) << r.err;
  const json j = json::parse(r.out);
  EXPECT_FALSE(j.at("answer").get<std::string>().empty()) << r.out;
  EXPECT_GT(j.at("generated_tokens").get<int>(), 0);
  EXPECT_LE(j.at("generated_tokens").get<int>(), 192);  // framescribe.json's max_tokens
  ASSERT_EQ(j.at("images").size(), 1u);
  EXPECT_EQ(j["images"][0]["model_width_px"].get<int>(), 64);  // framescribe.json's max_edge
  EXPECT_EQ(j["images"][0]["model_height_px"].get<int>(), 48);

  // Streamed text and global -q after the command: the answer, no notice.
  const CliRun quiet = run_framescribe(
      {"ask", "--threads", "2", "--image", picture.string(), "What do you see?", "-q"},
      dir_ / "stderr.txt");
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("demo model"), std::string::npos) << quiet.err;
  EXPECT_GT(quiet.out.size(), 1u) << "an answer, not only the final newline";

  // What the user gives wins over framescribe.json.
  const CliRun given =
      run_framescribe({"ask", "--threads", "2", "--image", picture.string(), "--max-edge", "128",
                       "--max-tokens", "3", "--json", "What do you see?"},
                      dir_ / "stderr.txt");
  ASSERT_EQ(given.exit_code, 0) << given.err;
  const json g = json::parse(given.out);
  EXPECT_EQ(g["images"][0]["model_width_px"].get<int>(), 128);
  EXPECT_LE(g.at("generated_tokens").get<int>(), 3);
}

}  // namespace
}  // namespace framescribe
