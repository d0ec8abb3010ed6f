// Size advice (decoder/size_advice.h): the --max-edge message with the nearest valid values, and
// the strip warning for frames one patch high or wide.
#include <gtest/gtest.h>

#include "framescribe/decoder/size_advice.h"

namespace framescribe {
namespace {

using decoder::max_edge_message;
using decoder::strip_warning;

TEST(SizeAdvice, MaxEdgeMessageNamesTheNearestValidValues) {
  EXPECT_EQ(max_edge_message("--max-edge", 500, 16, 1024),
            "--max-edge must be a multiple of 16 between 16 and 1024, got 500: try 496 or 512");
  EXPECT_EQ(max_edge_message("", 8, 16, 1024),
            "must be a multiple of 16 between 16 and 1024, got 8: try 16");
  EXPECT_EQ(max_edge_message("--max-edge", 2000, 16, 1024),
            "--max-edge must be a multiple of 16 between 16 and 1024, got 2000: try 1024");
}

TEST(SizeAdvice, StripWarning) {
  decoder::OutputSizing z;
  z.longest_edge_px = 256;
  // 640x24 at a 256 edge: 256x9.6, rounded up to one patch row.
  EXPECT_EQ(strip_warning("strip.mp4", 640, 24, z),
            "strip.mp4: 640x24 frames become 256x16, one patch high: a strip the model can "
            "hardly read; crop the video (ffmpeg -vf crop=...) or give a larger --max-edge");
  EXPECT_NE(strip_warning("tall.mp4", 24, 640, z).find("one patch wide"), std::string::npos);
  EXPECT_EQ(strip_warning("hd.mp4", 1920, 1080, z), "");
  EXPECT_EQ(strip_warning("tiny.mp4", 16, 16, z), "");   // one patch both ways: not a strip
  EXPECT_EQ(strip_warning("thin.mp4", 640, 16, z), "");  // no taller than a patch anyway
  EXPECT_EQ(strip_warning("unknown.mp4", 0, 0, z), "");
}

}  // namespace
}  // namespace framescribe
