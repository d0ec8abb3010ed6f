// Window packing: budgets, limits and overlap computed by hand for small frames (unit).
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/packer.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

using testing::FakeCoster;
constexpr std::int64_t kSec = 1'000'000'000;

pipeline::PreparedFrame frame(std::int64_t seq, std::int64_t pts, int w = 32, int h = 32) {
  pipeline::PreparedFrame f;
  f.frame.image = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
  f.frame.pts_ns = pts;
  f.seq = seq;
  return f;
}

// A short template keeps the hand arithmetic small: "{n_frames}" is 1-2 bytes.
pipeline::PackingOptions small(std::int64_t context) {
  pipeline::PackingOptions o;
  o.context_tokens = context;
  o.answer_reserve_tokens = 10;
  o.prompt_template = "N={n_frames}";
  return o;
}

std::vector<pipeline::WindowPlan> pack_all(pipeline::WindowPacker& p, int n, std::int64_t step,
                                           std::int64_t* skipped = nullptr) {
  std::vector<pipeline::WindowPlan> out;
  for (int i = 0; i < n; ++i) {
    auto o = p.push(frame(i, i * step));
    if (skipped) *skipped += o.skipped;
    if (o.window) out.push_back(std::move(*o.window));
  }
  if (auto w = p.finish(n * step)) out.push_back(std::move(*w));
  return out;
}

TEST(Packer, FillsTheBudgetExactly) {
  // Per frame: label "[00:0s.0]" 9 + image 2 x 3 = 15; fixed 3; instruction "N=k" 3 (k < 10).
  // Budget 100 - 10 = 90: 3 + 3 + 15k <= 90 -> k = 5.
  FakeCoster c(1000);
  pipeline::WindowPacker p(small(100), c);
  EXPECT_EQ(p.budget_tokens(), 90);
  const auto ws = pack_all(p, 12, kSec);
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[0].frames.size(), 5u);
  EXPECT_EQ(ws[1].frames.size(), 5u);
  EXPECT_EQ(ws[2].frames.size(), 2u);
  EXPECT_EQ(ws[0].planned_tokens, 3 + 5 * 15 + 3);
  EXPECT_EQ(ws[0].instruction, "N=5");
  EXPECT_EQ(ws[0].start_ns, 0);
  EXPECT_EQ(ws[0].end_ns, 5 * kSec);
  EXPECT_EQ(ws[2].end_ns, 12 * kSec);
  EXPECT_EQ(ws[0].labels[3], "[00:03.0]");
  EXPECT_EQ(ws[1].id, 1);
  EXPECT_EQ(ws[0].release_count, 5);
}

TEST(Packer, OverlapRepeatsExactlyTheLastSeconds) {
  FakeCoster c(1000);
  pipeline::PackingOptions o = small(100);
  o.overlap_ns = 2 * kSec;  // frames at end-2s and end-1s
  pipeline::WindowPacker p(o, c);
  const auto ws = pack_all(p, 12, kSec);
  // Windows: [0..4] ends 5 -> carry 3,4; [3..7] ends 8 -> carry 6,7; [6..10] ends 11; [9..11].
  ASSERT_EQ(ws.size(), 4u);
  auto seqs = [](const pipeline::WindowPlan& w) {
    std::vector<std::int64_t> s;
    for (const auto& f : w.frames) s.push_back(f.seq);
    return s;
  };
  EXPECT_EQ(seqs(ws[0]), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(seqs(ws[1]), (std::vector<std::int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(seqs(ws[2]), (std::vector<std::int64_t>{6, 7, 8, 9, 10}));
  EXPECT_EQ(seqs(ws[3]), (std::vector<std::int64_t>{9, 10, 11}));
  EXPECT_EQ(ws[0].release_count, 3);
  EXPECT_EQ(ws[3].release_count, 3);
  EXPECT_EQ(p.overlap_frames_dropped(), 0);
}

TEST(Packer, WindowSecondsAndFrameCap) {
  FakeCoster c(100000);
  pipeline::PackingOptions o = small(100000);
  o.window_ns = 4 * kSec;
  pipeline::WindowPacker p(o, c);
  const auto ws = pack_all(p, 10, kSec);
  ASSERT_EQ(ws.size(), 3u);  // [0..3] [4..7] [8..9]
  EXPECT_EQ(ws[0].frames.size(), 4u);
  EXPECT_EQ(ws[0].end_ns, 4 * kSec);

  pipeline::PackingOptions o2 = small(100000);
  o2.max_frames_per_window = 3;
  pipeline::WindowPacker p2(o2, c);
  const auto ws2 = pack_all(p2, 10, kSec);
  ASSERT_EQ(ws2.size(), 4u);
  EXPECT_EQ(ws2[3].frames.size(), 1u);
}

TEST(Packer, OverlapShrinksWhenTheCarriedFramesLeaveNoRoom) {
  FakeCoster c(1000);
  pipeline::PackingOptions o = small(100);
  o.max_frames_per_window = 3;
  o.overlap_ns = 10 * kSec;  // would carry the whole window
  pipeline::WindowPacker p(o, c);
  const auto ws = pack_all(p, 7, kSec);
  for (const auto& w : ws) EXPECT_LE(w.frames.size(), 3u);
  // Each window adds at least one new frame: the last frame's window exists and ends at 7 s.
  EXPECT_EQ(ws.back().frames.back().seq, 6);
  EXPECT_GT(p.overlap_frames_dropped(), 0);
}

TEST(Packer, AFrameTooLargeAloneIsSkipped) {
  FakeCoster c(1000);
  pipeline::WindowPacker p(small(100), c);
  EXPECT_EQ(p.push(frame(0, 0)).skipped, 0);
  // 160 x 160: 10 x 11 = 110 image tokens + 9 label + 6 > 90.
  auto out = p.push(frame(1, kSec, 160, 160));
  EXPECT_EQ(out.skipped, 1);
  EXPECT_FALSE(out.window);
  auto last = p.finish(2 * kSec);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->frames.size(), 1u);
}

TEST(Packer, RejectsBadOptionsAndOutOfOrderFrames) {
  FakeCoster c(1000);
  pipeline::PackingOptions o = small(100);
  o.window_ns = kSec;
  o.overlap_ns = kSec;
  EXPECT_THROW(pipeline::WindowPacker(o, c), Error);
  EXPECT_THROW(pipeline::WindowPacker(small(2000), c), Error);  // above the model's context
  pipeline::PackingOptions t = small(100);
  t.prompt_template = "{nope}";
  EXPECT_THROW(pipeline::WindowPacker(t, c), Error);
  pipeline::WindowPacker p(small(100), c);
  p.push(frame(0, kSec));
  EXPECT_THROW(p.push(frame(1, kSec)), Error);
}

TEST(Packer, DefaultInstructionNamesTheFramesAndTimes) {
  FakeCoster c(100000);
  pipeline::PackingOptions o;
  o.video_name = "cam.mp4";
  pipeline::WindowPacker p(o, c);
  EXPECT_EQ(p.instruction(65 * kSec, 125 * kSec + kSec / 2, 7).substr(0, 60),
            std::string("These are 7 frames of the video cam.mp4, from 01:05.0 to 02:05.5. Each")
                .substr(0, 60));
}

// Counts the instruction costings (every text that is not a frame label).
class CountingCoster final : public pipeline::PromptCoster {
 public:
  explicit CountingCoster(std::int64_t context) : inner_(context) {}
  std::int64_t text_tokens(std::string_view text) const override {
    if (text.empty() || text.front() != '[') ++instruction_costings;
    return inner_.text_tokens(text);
  }
  std::int64_t image_tokens(int w, int h) const override { return inner_.image_tokens(w, h); }
  std::int64_t fixed_tokens() const override { return inner_.fixed_tokens(); }
  std::int64_t context_tokens() const override { return inner_.context_tokens(); }
  mutable int instruction_costings = 0;

 private:
  FakeCoster inner_;
};

TEST(Packer, AnInstructionWithoutWindowVariablesIsCostedOnce) {
  CountingCoster c(1000);
  pipeline::PackingOptions o = small(100);
  o.prompt_template = "Say {video}";  // "Say v" = 5 bytes: 3 + 5 + 15k <= 90 -> k = 5
  o.video_name = "v";
  pipeline::WindowPacker p(o, c);
  const auto ws = pack_all(p, 12, kSec);
  EXPECT_EQ(c.instruction_costings, 1);
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[0].frames.size(), 5u);
  EXPECT_EQ(ws[0].instruction, "Say v");
  EXPECT_EQ(ws[0].planned_tokens, 3 + 5 * 15 + 5);
  EXPECT_EQ(ws[2].planned_tokens, 3 + 2 * 15 + 5);
}

TEST(Packer, APerWindowInstructionIsNotCostedAgainWhenTheWindowCloses) {
  // Each push asks for at most two instructions (the frame alone, the frame with the pending
  // ones; the first push asks for the same one twice); closing a window asks for none.
  CountingCoster c(1000);
  pipeline::WindowPacker p(small(100), c);
  const auto ws = pack_all(p, 12, kSec);
  EXPECT_EQ(c.instruction_costings, 2 * 12 - 1);
  ASSERT_EQ(ws.size(), 3u);  // the same windows as FillsTheBudgetExactly
  EXPECT_EQ(ws[0].planned_tokens, 3 + 5 * 15 + 3);
  EXPECT_EQ(ws[2].planned_tokens, 3 + 2 * 15 + 3);
}

TEST(Packer, PackLaysOutExactlyTheFramesGiven) {
  FakeCoster c(1000);
  pipeline::WindowPacker p(small(100), c);
  (void)p.push(frame(0, 9 * kSec));  // pending, and later than the frames below: dropped
  std::vector<pipeline::PreparedFrame> frames;
  for (int i = 0; i < 4; ++i) frames.push_back(frame(i, i * kSec));
  auto w = p.pack(frames, 4 * kSec);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->frames.size(), 4u);
  EXPECT_EQ(w->start_ns, 0);
  EXPECT_EQ(w->end_ns, 4 * kSec);
  EXPECT_EQ(w->instruction, "N=4");
  EXPECT_EQ(w->planned_tokens, 3 + 4 * 15 + 3);
  // Seven frames do not fit (five do): the oldest are left out, as a packer closing early would.
  for (int i = 4; i < 7; ++i) frames.push_back(frame(i, i * kSec));
  // The next window may repeat frames of the last one.
  w = p.pack(frames, 7 * kSec);
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->frames.size(), 2u);
  EXPECT_EQ(w->frames.front().frame.pts_ns, 5 * kSec);
  EXPECT_EQ(w->frames.back().frame.pts_ns, 6 * kSec);
  EXPECT_FALSE(p.pack({}, kSec).has_value());
  EXPECT_EQ(p.pending(), 0);
}

}  // namespace
}  // namespace framescribe
