// pipeline/pixtral on fixture A's tiny model: the coster's numbers are the built prompt's
// (fixed part, image blocks, labels, instruction add up to the prompt describe() builds, with
// and without a system prompt), a window's answer is the request API's answer on the same
// messages, carried text fits the reserve, and prompt dumps show the prompt.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/coster.h"
#include "framescribe/pixtral/prompt_hash.h"
#include "framescribe/pixtral/window_engine.h"
#include "inference/tiny_tokenizer.h"
#include "pixtral/test_frame.h"

namespace fi = framescribe::inference;
namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;
using namespace framescribe;

namespace {

const fs::path kFixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";

using framescribe::testing::test_frame;

struct TinyWindowEngine {
  explicit TinyWindowEngine(std::string system) {
    fi::EngineOptions eo;
    eo.n_threads = 1;
    config = fi::load_model_config(kFixture);
    fp::PixtralWindowOptions wo;
    wo.system = std::move(system);
    wo.max_answer_tokens = 6;
    wo.model_name = "tiny";
    opt = wo;
    engine =
        std::make_unique<fp::PixtralWindowEngine>(config, tok, fi::load_engine(kFixture, eo), wo);
  }
  // A window of two frames of different sizes, planned with the coster as the packer does.
  pipeline::WindowPlan plan() const {
    const int p = config.vision.patch_px;
    pipeline::WindowPlan w;
    w.id = 7;
    w.start_ns = 1'000'000'000;
    w.end_ns = 3'000'000'000;
    const core::Frame frames[] = {test_frame(3 * p, 2 * p, 1'000'000'000, 1),
                                  test_frame(p, 2 * p, 2'000'000'000, 2)};
    const pipeline::PromptCoster& c = engine->coster();
    w.planned_tokens = c.fixed_tokens();
    for (std::size_t i = 0; i < 2; ++i) {
      w.frames.push_back(pipeline::PreparedFrame{frames[i], static_cast<std::int64_t>(i),
                                                 engine->prepare(frames[i])});
      w.labels.push_back(pipeline::frame_label(frames[i].pts_ns));
      w.planned_tokens += c.text_tokens(w.labels.back()) +
                          c.image_tokens(frames[i].image->width_px(), frames[i].image->height_px());
    }
    w.instruction = "Describe the frames.";
    w.planned_tokens += c.text_tokens(w.instruction);
    return w;
  }

  fi::Tokenizer tok = framescribe::testing::tiny_tokenizer();
  fi::ModelConfig config;
  fp::PixtralWindowOptions opt;
  std::unique_ptr<fp::PixtralWindowEngine> engine;
};

TEST(PixtralCoster, FixedAndImageCostsAreTheBuiltPromptsParts) {
  const fi::Tokenizer tok = framescribe::testing::tiny_tokenizer();
  const fi::ModelConfig config = fi::load_model_config(kFixture);
  const fp::PixtralCoster plain(config, tok, "", 0);
  EXPECT_EQ(plain.fixed_tokens(), 3);  // BOS [INST] [/INST]
  const fp::PixtralCoster with_system(config, tok, "Be brief.", 0);
  // One token per byte: "Be brief.\n\n" is 11 tokens.
  EXPECT_EQ(with_system.fixed_tokens(), 3 + 11);
  EXPECT_EQ(plain.image_tokens(48, 32), 2 * (3 + 1));
  EXPECT_EQ(plain.text_tokens("[00:01.0]"), 9);
  EXPECT_EQ(plain.context_tokens(), config.text.max_context);
  EXPECT_EQ(fp::PixtralCoster(config, tok, "", 10).context_tokens(), 10);
  EXPECT_THROW((void)plain.image_tokens(47, 32), Error);
}

class WindowEngine : public ::testing::TestWithParam<const char*> {};

TEST_P(WindowEngine, DescribeIsTheRequestApisAnswerOnThePlannedPrompt) {
  TinyWindowEngine s(GetParam());
  const pipeline::WindowPlan plan = s.plan();
  core::StopFlag stop;
  // describe() throws kInternal when the prompt it builds differs from planned_tokens.
  const pipeline::WindowAnswer got = s.engine->describe(plan, {}, stop);
  EXPECT_EQ(got.prompt_tokens, plan.planned_tokens);
  EXPECT_FALSE(got.abandoned);

  // The same messages through the request API on a fresh engine.
  const int p = s.config.vision.patch_px;
  std::vector<fi::Message> m;
  if (!s.opt.system.empty()) m.push_back(fi::Message::system(s.opt.system));
  std::vector<fi::Chunk> chunks;
  for (std::size_t i = 0; i < plan.frames.size(); ++i) {
    chunks.push_back(fi::Chunk::text_chunk(plan.labels[i]));
    chunks.push_back(fi::Chunk::image_chunk(*plan.frames[i].pixels, p));
  }
  chunks.push_back(fi::Chunk::text_chunk(plan.instruction));
  m.push_back(fi::Message::user(std::move(chunks)));
  const fi::ChatPrompt cp = fi::prepare_chat(s.tok, m);
  EXPECT_EQ(cp.size(), plan.planned_tokens);
  fi::EngineOptions eo;
  eo.n_threads = 1;
  auto direct = fi::load_engine(kFixture, eo);
  fi::ChatOptions co;
  co.max_tokens = 6;
  co.stop_tokens = {s.tok.eos()};
  const fi::ChatResult want = fi::run_chat(*direct, s.tok, cp, co);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.answer_tokens, want.usage.completion_tokens);
  EXPECT_EQ(got.prompt_hash, fp::prompt_hash(cp.prompt.ids));
  EXPECT_EQ(got.prompt_hash.size(), 16u);

  // A plan that disagrees with the prompt is a bug, said as such.
  pipeline::WindowPlan off = plan;
  off.planned_tokens += 1;
  try {
    (void)s.engine->describe(off, {}, stop);
    FAIL() << "expected kInternal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
}

INSTANTIATE_TEST_SUITE_P(Systems, WindowEngine, ::testing::Values("", "Be brief."));

TEST(PixtralWindowEngine, CarriedTextFitsTheReserveAndDumpsShowThePrompt) {
  TinyWindowEngine s("");
  pipeline::WindowPlan plan = s.plan();
  plan.carry_budget = 30;
  std::FILE* dump = std::tmpfile();
  ASSERT_NE(dump, nullptr);
  fp::PixtralWindowOptions wo = s.opt;
  wo.dump_prompts = dump;
  fi::EngineOptions eo;
  eo.n_threads = 1;
  fp::PixtralWindowEngine engine(s.config, s.tok, fi::load_engine(kFixture, eo), wo);
  core::StopFlag stop;
  const std::string previous(200, 'x');  // far more than 30 tokens
  const pipeline::WindowAnswer a = engine.describe(plan, previous, stop);
  EXPECT_GT(a.prompt_tokens, plan.planned_tokens);  // some of it was carried
  EXPECT_LE(a.prompt_tokens, plan.planned_tokens + plan.carry_budget);
  std::rewind(dump);
  std::string line;
  for (int c; (c = std::fgetc(dump)) != EOF && c != '\n';) line += static_cast<char>(c);
  std::fclose(dump);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["window"], 7);
  EXPECT_EQ(j["prompt_tokens"], a.prompt_tokens);
  EXPECT_EQ(j["planned_tokens"], plan.planned_tokens);
  const std::string prompt = j["prompt"];
  EXPECT_NE(prompt.find("[00:01.0]<image 3x2>[00:02.0]<image 1x2>Before these frames: xxx"),
            std::string::npos)
      << prompt;
  EXPECT_EQ(prompt.rfind("<s>[INST]", 0), 0u) << prompt;
}

}  // namespace
