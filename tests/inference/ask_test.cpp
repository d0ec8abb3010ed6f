// The steps of "ask" shared by its front ends (inference/ask.h): images prepared for the model,
// the messages, and the JSON report, with Fixture A's tokenizer (made in memory) and synthetic
// pictures; no engine (the report is checked on a made-up ChatResult).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "framescribe/core/image.h"
#include "framescribe/inference/ask.h"
#include "inference/tiny_tokenizer.h"

namespace framescribe {
namespace {

using namespace framescribe::inference;

PreprocessOptions edge(int px) {
  PreprocessOptions pre;
  pre.longest_edge_px = px;
  pre.patch_px = 16;
  return pre;
}

TEST(Ask, ImagesAreResizedOntoThePatchGrid) {
  const core::Image wide(2000, 40, core::PixelFormat::kRgb8);
  // 2000x40 at a 512 edge: 512x10.24, rounded up to one patch row (a strip: warned about).
  const AskImage a = prepare_ask_image("wide.png", wide.view(), edge(512));
  EXPECT_EQ(a.name, "wide.png");
  EXPECT_EQ(a.source_width_px, 2000);
  EXPECT_EQ(a.source_height_px, 40);
  EXPECT_EQ(a.pixels.width_px, 512);
  EXPECT_EQ(a.pixels.height_px, 16);
}

TEST(Ask, MessagesAndReport) {
  const Tokenizer tok = testing::tiny_tokenizer();
  const core::Image a(64, 32, core::PixelFormat::kRgb8), b(32, 32, core::PixelFormat::kRgb8);
  std::vector<AskImage> images = {prepare_ask_image("a.png", a.view(), edge(64)),
                                  prepare_ask_image("b.png", b.view(), edge(64))};
  const std::vector<Message> m = ask_messages("Be brief.", images, 16, "What changed?");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].role, Role::kSystem);
  ASSERT_EQ(m[1].content.size(), 3u);  // both images, then the question
  EXPECT_EQ(m[1].content[0].pixels, &images[0].pixels);
  EXPECT_EQ(m[1].content[2].text, "What changed?");
  EXPECT_TRUE(ask_messages("", images, 16, "q").front().role == Role::kUser);

  const ChatPrompt prompt = prepare_chat(tok, m);
  ChatResult r;
  r.text = "A \x1b[2J circle\xc2\x85";  // an escape and a C1 control: escaped, never raw
  r.tokens = {300, 301};
  r.usage.prompt_tokens = prompt.size();
  r.stop_reason = StopReason::kEos;
  r.timings.decode_ms = 4;
  const std::string out = ask_report_json(r, prompt, images, {1, 2, 10}, "cpu");
  EXPECT_EQ(out.back(), '\n');
  for (const char c : out) EXPECT_LT(static_cast<unsigned char>(c), 0x7f) << out;
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["answer"], r.text);
  EXPECT_EQ(j["generated_tokens"], 2);
  EXPECT_EQ(j["prompt_tokens"], prompt.size());
  EXPECT_DOUBLE_EQ(j["decode_tokens_per_s"].get<double>(), 500.0);
  EXPECT_EQ(j["engine"], "cpu");
  EXPECT_DOUBLE_EQ(j["timings_ms"]["total"].get<double>(), 10.0);
  ASSERT_EQ(j["images"].size(), 2u);
  // 64x32: 2 rows of 4 + 1 tokens; 32x32: 2 rows of 2 + 1.
  EXPECT_EQ(j["images"][0]["source"], "a.png");
  EXPECT_EQ(j["images"][0]["tokens"], 10);
  EXPECT_EQ(j["images"][1]["model_width_px"], 32);
  EXPECT_EQ(j["images"][1]["tokens"], 6);
  EXPECT_EQ(prompt.image_block_tokens(), 16);
}

}  // namespace
}  // namespace framescribe
