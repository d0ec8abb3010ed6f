// The hierarchical summary (unit): as many passes as the context needs, every description in
// some first-pass prompt, no prompt over the budget.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "framescribe/pipeline/summary.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

std::vector<pipeline::SummaryItem> items(int n, std::size_t text_bytes) {
  std::vector<pipeline::SummaryItem> v;
  for (int i = 0; i < n; ++i) {
    std::string t = "[item " + std::to_string(i) + "] ";
    t.resize(text_bytes, 'x');
    v.push_back({i * 10 * kSec, (i + 1) * 10 * kSec, t});
  }
  return v;
}

TEST(Summary, OnePassWhenEverythingFits) {
  testing::FakeEngine engine(100000, 0);
  core::StopFlag stop;
  const auto r = pipeline::summarize(items(5, 40), engine, {.video_name = "v"}, stop);
  EXPECT_EQ(r.passes, 1);
  EXPECT_EQ(r.prompts, 1);
  ASSERT_EQ(engine.summary_prompts.size(), 1u);
  EXPECT_EQ(r.text, "summary 1");
  EXPECT_NE(engine.summary_prompts[0].find("from 00:00.0 to 00:50.0"), std::string::npos);
  for (int i = 0; i < 5; ++i)
    EXPECT_NE(engine.summary_prompts[0].find("[item " + std::to_string(i) + "]"),
              std::string::npos);
}

TEST(Summary, ReducesInSeveralPassesWithinTheBudget) {
  // Budget 800 - 64 = 736 tokens; the header is ~190 bytes; items of 100 bytes: ~5 per prompt.
  testing::FakeEngine engine(800, 0);
  core::StopFlag stop;
  const auto r = pipeline::summarize(items(60, 100), engine, {.video_name = "v"}, stop);
  EXPECT_GE(r.passes, 2);
  EXPECT_EQ(r.prompts, static_cast<std::int64_t>(engine.summary_prompts.size()));
  EXPECT_EQ(r.text, "summary " + std::to_string(engine.summary_prompts.size()));
  for (const std::string& p : engine.summary_prompts)
    EXPECT_LE(engine.text_prompt_tokens(p), 800 - 64);
  std::string all;
  for (const std::string& p : engine.summary_prompts) all += p;
  for (int i = 0; i < 60; ++i)
    EXPECT_NE(all.find("[item " + std::to_string(i) + "]"), std::string::npos) << i;
  // Partial summaries are labelled with the span they cover.
  EXPECT_NE(engine.summary_prompts.back().find("[00:00.0-"), std::string::npos);
}

TEST(Summary, CutsAnItemLargerThanHalfTheBudget) {
  testing::FakeEngine engine(800, 0);
  core::StopFlag stop;
  auto v = items(3, 5000);
  const auto r = pipeline::summarize(v, engine, {.video_name = "v"}, stop);
  EXPECT_FALSE(r.text.empty());
  for (const std::string& p : engine.summary_prompts)
    EXPECT_LE(engine.text_prompt_tokens(p), 800 - 64);
}

TEST(Summary, NothingToSummarise) {
  testing::FakeEngine engine(800, 0);
  core::StopFlag stop;
  const auto r = pipeline::summarize({}, engine, {}, stop);
  EXPECT_TRUE(r.text.empty());
  EXPECT_TRUE(engine.summary_prompts.empty());
}

}  // namespace
}  // namespace framescribe
