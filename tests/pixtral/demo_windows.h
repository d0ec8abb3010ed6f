// The demo model's windows for the Pixtral glue's reuse tests (prefix_reuse_test,
// approx_reuse_test): frames FFmpeg decodes from samples/shapes-demo.mp4, windows laid out as the
// live job lays them out (the packer, its default instruction), three alert questions, and a
// window's outcome (scores, a plain and a carried description) with a bit-for-bit comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/pixtral/window_engine.h"

namespace framescribe::testing::demo_windows {

namespace fp = framescribe::pixtral;
namespace fs = std::filesystem;

inline const std::string kDemo =
    (fs::path(FS_SOURCE_DIR) / "samples/models/framescribe-demo").string();
inline const std::string kClip = (fs::path(FS_SOURCE_DIR) / "samples/shapes-demo.mp4").string();

// Every `step`-th decoded frame of the clip from frame `first` on, `n` of them, at w x h (the
// clip: 10 fps; a blue circle crosses from 2.3 s to 7.7 s).
inline std::vector<core::Frame> clip_frames(int n, int step, int w, int h, int first) {
  auto src = decoder::FfmpegSource::open(kClip, {});
  std::vector<core::Frame> out;
  for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
    std::optional<decoder::DecodedFrame> f = src->next();
    if (!f) break;
    if (i >= first && (i - first) % step == 0)
      out.push_back(src->convert(*f, core::TargetSize{w, h, 16}));
  }
  return out;
}

// The window of `frames` as the live job lays it out (the packer, its default instruction).
inline pipeline::WindowPlan plan_of(const fp::PixtralWindowEngine& engine,
                                    const std::vector<core::Frame>& frames, std::int64_t id) {
  pipeline::PackingOptions po;
  po.video_name = "shapes-demo";
  pipeline::WindowPacker packer(po, engine.coster());
  std::vector<pipeline::PreparedFrame> prepared;
  for (std::size_t i = 0; i < frames.size(); ++i)
    prepared.push_back({frames[i], static_cast<std::int64_t>(i), engine.prepare(frames[i])});
  std::optional<pipeline::WindowPlan> w = packer.pack(prepared, frames.back().pts_ns + 1);
  EXPECT_TRUE(w && w->frames.size() == frames.size());
  w->id = id;
  w->carry_budget = 24;
  return *w;
}

inline std::vector<core::Frame> slice(const std::vector<core::Frame>& f, std::size_t a,
                                      std::size_t b) {
  return {f.begin() + static_cast<std::ptrdiff_t>(a), f.begin() + static_cast<std::ptrdiff_t>(b)};
}

inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

inline const std::vector<std::string> kYesNo = {"yes", "no"};
inline const std::vector<std::string> kShapes = {"circle", "square", "triangle"};
// First words that start with different letters from each other and from "These" (the default
// instruction): every
// question's prompt leaves the frames' prompt at its instruction's first token.
inline const std::vector<pipeline::AlertQuestion> kQuestions = {
    {"Is there a red shape? Answer yes or no.", kYesNo},
    {"Which shape is largest?", kShapes},
    {"Are two shapes touching? Answer yes or no.", kYesNo}};

// What a window's steps produce, for comparing engines.
struct Outcome {
  std::vector<std::vector<double>> scores;
  pipeline::WindowAnswer plain_answer, carried_answer;
};

inline Outcome run_window(fp::PixtralWindowEngine& e, const std::vector<core::Frame>& frames,
                          std::int64_t id, bool ahead) {
  core::StopFlag stop;
  if (ahead && frames.size() > 1)  // the live job: frames so far, before the window is due
    e.prefill(plan_of(e, slice(frames, 0, frames.size() - 1), id), stop);
  const pipeline::WindowPlan w = plan_of(e, frames, id);
  Outcome o;
  o.scores = e.answer_probabilities_batch(w, kQuestions, stop);
  o.plain_answer = e.describe(w, {}, stop);
  o.carried_answer = e.describe(w, "A red circle and a blue square were seen.", stop);
  return o;
}

inline void expect_same(const Outcome& a, const Outcome& b, const std::string& what) {
  ASSERT_EQ(a.scores.size(), b.scores.size()) << what;
  for (std::size_t i = 0; i < a.scores.size(); ++i)
    EXPECT_TRUE(same_bits(a.scores[i], b.scores[i])) << what << " question " << i;
  for (const auto& [x, y] : {std::pair{&a.plain_answer, &b.plain_answer},
                             std::pair{&a.carried_answer, &b.carried_answer}}) {
    EXPECT_EQ(x->text, y->text) << what;
    EXPECT_EQ(x->answer_tokens, y->answer_tokens) << what;
    EXPECT_EQ(x->prompt_hash, y->prompt_hash) << what;
    EXPECT_EQ(x->prompt_tokens, y->prompt_tokens) << what;
  }
}

}  // namespace framescribe::testing::demo_windows
