// The frame-fits-the-context check (pipeline/frame_fit.h) with the fake coster of fakes.h: text
// costs its length, an image (h/16) x (w/16 + 1), 3 fixed tokens. Square frames; a fixed
// instruction "Describe." (9 tokens); labels "[00:00.0]" (9 tokens).
#include <gtest/gtest.h>

#include "framescribe/pipeline/frame_fit.h"
#include "pipeline/fakes.h"

namespace framescribe {
namespace {

core::TargetSize square(int edge) {
  return core::TargetSize{edge, edge, 16};
}

pipeline::PackingOptions packing(std::int64_t context, std::int64_t reserve) {
  pipeline::PackingOptions p;
  p.context_tokens = context;
  p.answer_reserve_tokens = reserve;
  p.prompt_template = "Describe.";
  return p;
}

TEST(FrameFit, OneFrameWindowTokens) {
  const testing::FakeCoster coster(1000);
  const pipeline::PackingOptions p = packing(1000, 30);
  const pipeline::WindowPacker packer(p, coster);
  std::int64_t frame = 0;
  // 3 fixed + 9 label + 6 x 7 image + 9 instruction.
  EXPECT_EQ(pipeline::one_frame_window_tokens(packer, coster, p, square(96), 0, &frame), 63);
  EXPECT_EQ(frame, 51);
}

TEST(FrameFit, FitsOrNamesTheLargestEdgeThatDoes) {
  const testing::FakeCoster coster(1000);
  const std::vector<std::int64_t> at_start = {0};
  // Budget 70: a 96 px frame's window is 63 tokens.
  EXPECT_EQ(pipeline::frame_fit_problem(packing(100, 30), coster, 96, 16, square, at_start), "");
  // Budget 50: 96 px needs 63, 80 px 51 (5 x 6 image), 64 px 41 (4 x 5).
  EXPECT_EQ(pipeline::frame_fit_problem(packing(80, 30), coster, 96, 16, square, at_start),
            "a frame needs 51 tokens; the context is 80: use --max-edge 64 (the prompt and the "
            "answer reserve take 42 of the context)");
  // Budget 10: not even one patch (3 + 9 + 2 + 9 = 23).
  const std::string none =
      pipeline::frame_fit_problem(packing(40, 30), coster, 96, 16, square, at_start);
  EXPECT_NE(none.find("no --max-edge fits; give a larger --context or a smaller --max-tokens"),
            std::string::npos)
      << none;
}

}  // namespace
}  // namespace framescribe
