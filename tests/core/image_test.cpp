#include <gtest/gtest.h>

#include "framescribe/core/error.h"
#include "framescribe/core/image.h"

using framescribe::core::Image;
using framescribe::core::PixelFormat;

TEST(Image, ZeroFilledAndTightlyPacked) {
  Image img(5, 3, PixelFormat::kRgba8);
  EXPECT_EQ(img.stride_bytes(), 20u);
  auto v = img.view();
  EXPECT_EQ(v.channels(), 4);
  EXPECT_EQ(v.row(2) - v.row(0), 40);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 20; ++x) EXPECT_EQ(v.row(y)[x], 0);
  img.data()[img.stride_bytes() * 2 + 4 * 4 + 3] = 255;  // alpha of (4, 2)
  EXPECT_EQ(img.view().row(2)[19], 255);
  EXPECT_FALSE(v.empty());
  EXPECT_TRUE(framescribe::core::ImageView{}.empty());
}

TEST(Image, RejectsImpossibleSizes) {
  EXPECT_THROW(Image(0, 10, PixelFormat::kRgb8), framescribe::Error);
  EXPECT_THROW(Image(10, -1, PixelFormat::kRgb8), framescribe::Error);
  EXPECT_THROW(Image(1 << 16, 10, PixelFormat::kRgb8), framescribe::Error);
}
