// Image preprocessing: the size rule against hand-derived tables (mistral-common's round and
// transformers' floor), the INTER_CUBIC resize against hand-computed Keys weights, RGBA over
// white, row strides, and the whole pipeline against transformers' PixtralImageProcessor output.
#include "framescribe/inference/preprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/image.h"

namespace framescribe::inference {
// Readable failures for EXPECT_EQ on sizes (found by GoogleTest through ADL).
void PrintTo(const TargetSize& s, std::ostream* os) {
  *os << s.width_px << "x" << s.height_px << " (patch " << s.patch_px << ")";
}
}  // namespace framescribe::inference

namespace {

using framescribe::Error;
using framescribe::ErrorCode;
using framescribe::core::Image;
using framescribe::core::ImageView;
using framescribe::core::PixelFormat;
using namespace framescribe::inference;

const PreprocessOptions kDefaults;

::testing::AssertionResult throws_invalid_argument(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalidArgument) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "code " << framescribe::to_string(e.code()) << ": " << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-framescribe exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// ---------------------------------------------------------------------------------------------
// Target size

struct SizeCase {
  int width_px, height_px;
  int mc_width_px, mc_height_px;  // mistral-common (round half to even): what framescribe does
  int hf_width_px, hf_height_px;  // transformers (floor)
  const char* why;
};

// Every expected value below was worked out by hand from the formulas in pixtral.md 4.1/4.2
// (longest edge 1024, patch 16), or copied from that document; none was produced by the code.
// ratio = max(W, H) / 1024; shrunk sides are W/ratio, H/ratio; then ceil to a multiple of 16.
const SizeCase kSizeCases[] = {
    // pixtral.md section 9, given there as (cols, rows).
    {400, 300, 400, 304, 400, 304, "(25, 19): no shrink, 300 -> 304"},
    {200, 300, 208, 304, 208, 304, "(13, 19)"},
    {500, 500, 512, 512, 512, 512, "(32, 32)"},
    {150, 600, 160, 608, 160, 608, "(10, 38)"},
    {2000, 1337, 1024, 688, 1024, 688, "(64, 43): 1337/1.953125 = 684.5 -> 685 or 684, both 43"},
    // framescribe follows mistral-common here: 470/1.46484375 = 320.85 rounds to 321 (21 rows)
    // but floors to 320 (20 rows); 1365 vs 1300 tokens, pixtral.md 4.2.
    {1500, 470, 1024, 336, 1024, 320, "(64, 21) with round, (64, 20) with floor"},
    {17, 17, 32, 32, 32, 32, "(2, 2)"},
    {4, 4, 16, 16, 16, 16, "(1, 1): small images grow to one patch"},
    // pixtral.md project note: transformers 5.17.0 PixtralImageProcessor, measured.
    {1920, 1080, 1024, 576, 1024, 576, "ratio 1.875, 1080/1.875 = 576 exactly"},
    {1280, 720, 1024, 576, 1024, 576, "ratio 1.25"},
    {640, 480, 640, 480, 640, 480, "already multiples of 16"},
    {3840, 2160, 1024, 576, 1024, 576, "ratio 3.75"},
    {100, 50, 112, 64, 112, 64, "99//16+1 = 7, 49//16+1 = 4"},
    {1024, 1024, 1024, 1024, 1024, 1024, "ratio exactly 1: no shrink"},
    {2000, 300, 1024, 160, 1024, 160, "300/1.953125 = 153.6 -> 154 or 153, both 10 rows"},
    {17, 1500, 16, 1024, 16, 1024, "17/1.46484375 = 11.6 -> 12 or 11, both 1 col"},
    // More, derived the same way.
    {4096, 2051, 1024, 528, 1024, 512, "2051/4 = 512.75: 513 (33 rows) vs 512 (32 rows)"},
    // 1025/2 = 512.5 exactly: half to even gives 512 (32 rows); half away from zero (std::round)
    // would give 513 and 33 rows, 528 px.
    {2048, 1025, 1024, 512, 1024, 512, "tie 512.5 rounds to even"},
    {1025, 2048, 512, 1024, 512, 1024, "the same tie on the width"},
    {3000, 1000, 1024, 352, 1024, 352, "1000/2.9296875 = 341.3 -> 341, 22 rows"},
    {1, 1, 16, 16, 16, 16, "one pixel is one patch"},
    {17, 16, 32, 16, 32, 16, "one pixel over a patch adds a patch"},
    // 1/1.0009765625 = 0.999: round gives 1 row, floor gives 0, which transformers would turn
    // into 0 rows; framescribe gives every side at least one patch under both rules.
    {1025, 1, 1024, 16, 1024, 16, "1-pixel-high strip just over the limit"},
    // 10/97.65625 = 0.1 rounds to 0 (mistral-common asserts there): clamped to one patch.
    {100000, 10, 1024, 16, 1024, 16, "extreme aspect ratio"},
};

TEST(TargetSize, MatchesHandDerivedTableForBothRules) {
  for (const SizeCase& c : kSizeCases) {
    SCOPED_TRACE(::testing::Message() << c.width_px << "x" << c.height_px << ": " << c.why);
    EXPECT_EQ(target_size(c.width_px, c.height_px),
              (TargetSize{c.mc_width_px, c.mc_height_px, 16}));
    EXPECT_EQ(target_size_hf(c.width_px, c.height_px),
              (TargetSize{c.hf_width_px, c.hf_height_px, 16}));
  }
}

TEST(TargetSize, TokenCounts) {
  // 64 x 36 patches; each of the 36 rows ends with [IMG_BREAK] or [IMG_END].
  const TargetSize fhd = target_size(1920, 1080);
  EXPECT_EQ(fhd.cols(), 64);
  EXPECT_EQ(fhd.rows(), 36);
  EXPECT_EQ(fhd.n_patches(), 64 * 36);
  EXPECT_EQ(fhd.n_tokens(), 36 * 65);
  // The token counts pixtral.md 4.2 quotes for 1500x470.
  EXPECT_EQ(target_size(1500, 470).n_tokens(), 1365);
  EXPECT_EQ(target_size_hf(1500, 470).n_tokens(), 1300);
}

TEST(TargetSize, OtherLongestEdgeAndPatch) {
  // The golden image below: 400x300 with longest edge 256: ratio 1.5625, 256 x 192 exactly.
  EXPECT_EQ(target_size(400, 300, 256, 16), (TargetSize{256, 192, 16}));
  EXPECT_EQ(target_size_hf(400, 300, 256, 16), (TargetSize{256, 192, 16}));
  // Patch 14, longest 1540 = 110 patches: 3080x1000 halves to 1540x500; 499//14+1 = 36 rows.
  EXPECT_EQ(target_size(3080, 1000, 1540, 14), (TargetSize{1540, 504, 14}));
  // Small images are not enlarged to the longest edge: 100x40 only rounds up to 112x48.
  EXPECT_EQ(target_size(100, 40, 256, 16), (TargetSize{112, 48, 16}));
}

TEST(TargetSize, RejectsImpossibleArguments) {
  for (const auto& fn : {&target_size, &target_size_hf}) {
    EXPECT_TRUE(throws_invalid_argument([&] { fn(0, 10, 1024, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 0, 1024, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(-5, 10, 1024, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, -1, 1024, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 10, 0, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 10, -1024, 16); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 10, 1000, 16); }));  // 1000 % 16 != 0
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 10, 1024, 0); }));
    EXPECT_TRUE(throws_invalid_argument([&] { fn(10, 10, 1024, -16); }));
  }
}

// ---------------------------------------------------------------------------------------------
// Resize

// Deterministic pseudo-random floats in [-20, 280): outside 0..255 on purpose, since the resize
// must neither clamp nor assume 8-bit input.
std::vector<float> noise(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 300.0f - 20.0f;
  }
  return v;
}

// A 1-D signal as an RGB image of width n and height 1 (or height n and width 1): channel 0 holds
// the values, channel 1 the values doubled, channel 2 zero, so a channel mix-up shows.
std::vector<float> rgb_line(const std::vector<float>& values) {
  std::vector<float> rgb;
  for (float v : values) rgb.insert(rgb.end(), {v, 2 * v, 0.0f});
  return rgb;
}

TEST(ResizeBicubic, SameSizeIsIdentity) {
  const std::vector<float> src = noise(13 * 7 * 3, 1);
  EXPECT_EQ(resize_bicubic_rgb(src, 13, 7, 13, 7), src);
}

TEST(ResizeBicubic, ConstantStaysConstant) {
  // The four weights sum to 1 up to float rounding (OpenCV defines the last as 1 minus the
  // others), so a constant comes back within a few roundings of 123.25 per pass: the ulp there
  // is 7.6e-6, and 1e-4 allows a dozen of them on each of the 8 products and sums.
  constexpr float kValue = 123.25f;
  const std::vector<float> src(9 * 5 * 3, kValue);
  for (auto [w, h] : {std::pair{19, 3}, {3, 11}, {4, 2}, {30, 17}}) {
    SCOPED_TRACE(::testing::Message() << "9x5 -> " << w << "x" << h);
    const std::vector<float> dst = resize_bicubic_rgb(src, 9, 5, w, h);
    ASSERT_EQ(dst.size(), static_cast<std::size_t>(w * h * 3));
    for (float v : dst) EXPECT_NEAR(v, kValue, 1e-4f);
  }
}

TEST(ResizeBicubic, LinearRampFollowsTheKeysBias) {
  // Keys' kernel reproduces linear functions exactly only for A = -0.5. For any A the four
  // weights at fraction f sum to 1, and their first moment sum_k w_k (k - f), k = -1..2, works
  // out to e(f) = -(2A + 1) f (1 - f)(1 - 2f), i.e. f (1 - f)(1 - 2f) / 2 for A = -0.75 (by hand
  // from the weights in HandComputedKeysWeights: f = 0.25 gives 0.046875, f = 0.7 -0.042). So
  // wherever all four taps are inside the image, a ramp g(x, y) = 2x + 3y + 10 comes out as g(px +
  // e(fx), py + e(fy)), with p the half-pixel-centre source position (x + 0.5) * src/dst - 0.5 and
  // f its fractional part. The shift reaches 0.048 px, i.e. 0.14 on the 3-per-pixel ramp, so the
  // test also tells A = -0.75 from -0.5. Tolerance 1e-3: values are below 150, where float weights
  // and sums are good to ~1e-5; a wrong A, half-pixel-centre or scale is off by 0.05 or more.
  const auto e = [](double f) { return f * (1 - f) * (1 - 2 * f) / 2; };
  struct Case {
    int src_w, src_h, dst_w, dst_h;
  };
  for (const Case& c : {Case{20, 15, 57, 41}, Case{40, 30, 17, 13}}) {
    SCOPED_TRACE(::testing::Message()
                 << c.src_w << "x" << c.src_h << " -> " << c.dst_w << "x" << c.dst_h);
    std::vector<float> src;
    for (int y = 0; y < c.src_h; ++y)
      for (int x = 0; x < c.src_w; ++x) {
        const float v = 2.0f * x + 3.0f * y + 10.0f;
        src.insert(src.end(), {v, -v, 0.5f * v});
      }
    const std::vector<float> dst = resize_bicubic_rgb(src, c.src_w, c.src_h, c.dst_w, c.dst_h);
    const double sx = static_cast<double>(c.src_w) / c.dst_w;
    const double sy = static_cast<double>(c.src_h) / c.dst_h;
    int checked = 0;
    double max_bias = 0;
    for (int y = 0; y < c.dst_h; ++y) {
      const double py = (y + 0.5) * sy - 0.5;
      if (std::floor(py) < 1 || std::floor(py) + 2 > c.src_h - 1) continue;
      for (int x = 0; x < c.dst_w; ++x) {
        const double px = (x + 0.5) * sx - 0.5;
        if (std::floor(px) < 1 || std::floor(px) + 2 > c.src_w - 1) continue;
        const double plain = 2.0 * px + 3.0 * py + 10.0;
        const double expected =
            2.0 * (px + e(px - std::floor(px))) + 3.0 * (py + e(py - std::floor(py))) + 10.0;
        const float* out = &dst[(static_cast<std::size_t>(y) * c.dst_w + x) * 3];
        EXPECT_NEAR(out[0], expected, 1e-3) << "at " << x << "," << y;
        EXPECT_NEAR(out[1], -expected, 1e-3) << "at " << x << "," << y;
        EXPECT_NEAR(out[2], 0.5 * expected, 1e-3) << "at " << x << "," << y;
        max_bias = std::max(max_bias, std::abs(expected - plain));
        ++checked;
      }
    }
    EXPECT_GT(checked, c.dst_w * c.dst_h / 4);  // the interior is most of the image
    EXPECT_GT(max_bias, 0.05);                  // the check is not vacuous
  }
}

TEST(ResizeBicubic, HandComputedKeysWeights) {
  // 4 -> 3 pixels: output x = 1 sits at (1 + 0.5) * 4/3 - 0.5 = 1.5, between source 1 and 2,
  // fraction 0.5. Keys with A = -0.75: W(d) = 1.25|d|^3 - 2.25|d|^2 + 1 for |d| <= 1 and
  // -0.75|d|^3 + 3.75|d|^2 - 6|d| + 3 for 1 < |d| < 2, so W(0.5) = 0.59375, W(1.5) = -0.09375:
  // -0.09375*10 + 0.59375*20 + 0.59375*40 - 0.09375*80 = 27.1875.
  // Tolerance 1e-5: the weights are dyadic but the position goes through 1/(3/4) in double.
  const std::vector<float> line = rgb_line({10, 20, 40, 80});
  const std::vector<float> wide = resize_bicubic_rgb(line, 4, 1, 3, 1);
  EXPECT_NEAR(wide[3 * 1 + 0], 27.1875f, 1e-5f);
  EXPECT_NEAR(wide[3 * 1 + 1], 2 * 27.1875f, 1e-5f);
  EXPECT_EQ(wide[3 * 1 + 2], 0.0f);
  // The same along the vertical axis.
  const std::vector<float> tall = resize_bicubic_rgb(line, 1, 4, 1, 3);
  EXPECT_NEAR(tall[3 * 1 + 0], 27.1875f, 1e-5f);

  // 4 -> 5: output x = 1 sits at 1.5 * 0.8 - 0.5 = 0.7: taps -1, 0, 1, 2 at distances 1.7, 0.7,
  // 0.3, 1.3, weights -0.04725, 0.32625, 0.83125, -0.11025; tap -1 is source 0 (replicated):
  // (-0.04725 + 0.32625)*10 + 0.83125*20 - 0.11025*40 = 15.005. 0.7 is not exact in float, which
  // moves the weights by ~1e-7 each: tolerance 1e-4.
  EXPECT_NEAR(resize_bicubic_rgb(line, 4, 1, 5, 1)[3 * 1], 15.005f, 1e-4f);
}

TEST(ResizeBicubic, ReplicatedBorder) {
  // 4 -> 8: output 0 sits at 0.5 * 0.5 - 0.5 = -0.25: floor -1, fraction 0.75, taps -2..1 at
  // distances 1.75, 0.75, 0.25, 1.25 with weights -0.03515625, 0.26171875, 0.87890625,
  // -0.10546875 (all dyadic, so exact in float). Replicating source 0 into taps -2 and -1:
  // (-0.03515625 + 0.26171875 + 0.87890625)*10 - 0.10546875*20 = 8.9453125.
  // Zero padding would give 6.6796875, reflect-101 (-1 -> 1, -2 -> 2) 10.5078125.
  const std::vector<float> line = rgb_line({10, 20, 40, 80});
  for (const auto& [w, h, dw, dh] : {std::array{4, 1, 8, 1}, std::array{1, 4, 1, 8}}) {
    SCOPED_TRACE(::testing::Message() << w << "x" << h << " -> " << dw << "x" << dh);
    const std::vector<float> out = resize_bicubic_rgb(line, w, h, dw, dh);
    EXPECT_EQ(out[0], 8.9453125f);
    EXPECT_EQ(out[1], 2 * 8.9453125f);
    // Output 7, mirrored: position 3.25, taps 2..5 -> 2, 3, 3, 3:
    // -0.10546875*40 + (0.87890625 + 0.26171875 - 0.03515625)*80 = 84.21875.
    EXPECT_EQ(out[3 * 7], 84.21875f);
  }
}

TEST(ResizeBicubic, NoClampingOfOvershoot) {
  // A step 0 -> 255 overshoots with A = -0.75; the reference keeps values outside 0..255.
  const std::vector<float> step = rgb_line({0, 0, 0, 255, 255, 255});
  const std::vector<float> out = resize_bicubic_rgb(step, 6, 1, 15, 1);
  float lo = 0, hi = 0;
  for (std::size_t i = 0; i < out.size(); i += 3) {
    lo = std::min(lo, out[i]);
    hi = std::max(hi, out[i]);
  }
  EXPECT_LT(lo, -1.0f);
  EXPECT_GT(hi, 256.0f);
}

TEST(ResizeBicubic, RejectsBadArguments) {
  const std::vector<float> src(4 * 3 * 3, 1.0f);
  EXPECT_TRUE(throws_invalid_argument([&] { resize_bicubic_rgb(src, 4, 3, 0, 3); }));
  EXPECT_TRUE(throws_invalid_argument([&] { resize_bicubic_rgb(src, 4, 3, 8, -1); }));
  EXPECT_TRUE(throws_invalid_argument([&] { resize_bicubic_rgb(src, 0, 3, 8, 6); }));
  EXPECT_TRUE(throws_invalid_argument([&] { resize_bicubic_rgb(src, 5, 3, 8, 6); }));  // size
}

// ---------------------------------------------------------------------------------------------
// preprocess_image

float normalised(float value_0_255, int channel) {
  return static_cast<float>((value_0_255 / 255.0 - kDefaults.mean[channel]) /
                            kDefaults.std[channel]);
}

float at(const PixelImage& px, int c, int x, int y) {
  return px.chw[(static_cast<std::size_t>(c) * px.height_px + y) * px.width_px + x];
}

TEST(PreprocessImage, OutputShapeFollowsTheSizeRule) {
  const Image frame(1920, 1080, PixelFormat::kRgb8);
  const PixelImage px = preprocess_image(frame.view());
  EXPECT_EQ(px.width_px, 1024);
  EXPECT_EQ(px.height_px, 576);
  EXPECT_EQ(px.chw.size(), 3u * 576 * 1024);
  // A black frame normalises to -mean/std everywhere.
  EXPECT_NEAR(px.chw.front(), -kDefaults.mean[0] / kDefaults.std[0], 1e-6f);
  EXPECT_NEAR(px.chw.back(), -kDefaults.mean[2] / kDefaults.std[2], 1e-6f);
}

// mistral-common 1.13.1 `normalize`: np.divide(image, np.float32(255.0), dtype=float32), then
// `-= mean` and `/= std` with float32 arrays of the CLIP constants; no step in float64. Written
// out here as numpy does it, each step rounded to float. An image that needs no resize (16x16)
// must come out bit for bit: computing mean/std in float64, as before (and as mistral-common
// <= 1.11 did), is one rounding off for 70 of these 768 values (found by tests/crosscheck).
TEST(PreprocessImage, NormalisesInFloat32LikeMistralCommon) {
  Image frame(16, 16, PixelFormat::kRgb8);
  for (int i = 0; i < 256; ++i) {
    frame.data()[3 * i + 0] = static_cast<std::uint8_t>(i);
    frame.data()[3 * i + 1] = static_cast<std::uint8_t>(255 - i);
    frame.data()[3 * i + 2] = static_cast<std::uint8_t>((i * 7) % 256);
  }
  const PixelImage px = preprocess_image(frame.view());
  ASSERT_EQ(px.width_px, 16);
  ASSERT_EQ(px.height_px, 16);
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  const float std_dev[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  int mismatches = 0;
  for (int i = 0; i < 256; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float value = frame.data()[3 * i + c];
      const float scaled = value / 255.0f;     // np.divide(..., np.float32(255.0))
      const float centred = scaled - mean[c];  // np_image -= mean_array (float32)
      const float expected = centred / std_dev[c];
      if (at(px, c, i % 16, i / 16) != expected) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(PreprocessImage, RejectsEmptyAndMalformedViews) {
  const Image img(8, 8, PixelFormat::kRgb8);
  ImageView v = img.view();
  v.data = nullptr;
  EXPECT_TRUE(throws_invalid_argument([&] { preprocess_image(v); }));
  v = img.view();
  v.width_px = 0;
  EXPECT_TRUE(throws_invalid_argument([&] { preprocess_image(v); }));
  v = img.view();
  v.height_px = -3;
  EXPECT_TRUE(throws_invalid_argument([&] { preprocess_image(v); }));
  v = img.view();
  v.stride_bytes = 8 * 3 - 1;  // shorter than a row
  EXPECT_TRUE(throws_invalid_argument([&] { preprocess_image(v); }));
}

TEST(PreprocessImage, RgbaCompositesOverWhite) {
  // 16x16 needs no resize, so every output pixel is the composited input pixel, normalised.
  // mistral-common pastes the RGBA image onto white with PIL in 8 bits: round(c*a/255 +
  // 255*(1 - a/255)). The half-transparent rows check that rounding: 100 at alpha 128 is
  // 177.196 -> 177, 0 at 128 is 127, 50 at 100 is 174.608 -> 175; the unrounded float blend
  // would be off by up to 0.5 grey levels (0.007 after normalisation), far above the 1e-6
  // tolerance (one float rounding of values below 2.2).
  Image rgba(16, 16, PixelFormat::kRgba8);
  Image rgb(16, 16, PixelFormat::kRgb8);
  const std::array<std::uint8_t, 3> colour = {12, 200, 7};
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      std::uint8_t* p = rgba.data() + rgba.stride_bytes() * y + 4 * x;
      std::uint8_t* q = rgb.data() + rgb.stride_bytes() * y + 3 * x;
      std::copy(colour.begin(), colour.end(), q);
      if (y < 4) {  // transparent, colour irrelevant
        p[0] = colour[0], p[1] = colour[1], p[2] = colour[2], p[3] = 0;
      } else if (y < 8) {  // opaque
        p[0] = colour[0], p[1] = colour[1], p[2] = colour[2], p[3] = 255;
      } else if (y < 12) {
        p[0] = 100, p[1] = 0, p[2] = 0, p[3] = 128;
      } else {
        p[0] = 50, p[1] = 50, p[2] = 50, p[3] = 100;
      }
    }
  const PixelImage out = preprocess_image(rgba.view());
  const PixelImage ref = preprocess_image(rgb.view());
  ASSERT_EQ(out.width_px, 16);
  ASSERT_EQ(out.height_px, 16);
  for (int c = 0; c < 3; ++c) {
    const float white = (1.0f - kDefaults.mean[c]) / kDefaults.std[c];
    for (int x = 0; x < 16; ++x) {
      EXPECT_NEAR(at(out, c, x, 1), white, 1e-6f) << "transparent, channel " << c;
      EXPECT_EQ(at(out, c, x, 5), at(ref, c, x, 5)) << "opaque, channel " << c;
    }
  }
  EXPECT_NEAR(at(out, 0, 3, 9), normalised(177, 0), 1e-6f);
  EXPECT_NEAR(at(out, 1, 3, 9), normalised(127, 1), 1e-6f);
  EXPECT_NEAR(at(out, 2, 3, 13), normalised(175, 2), 1e-6f);
}

TEST(PreprocessImage, HonoursRowStride) {
  // Same pixels, tight and with 13 junk bytes after every row: identical output. 37x23 resizes
  // to 48x32, so the resize reads every source row; the buffer ends exactly at the last row's
  // padding, so an over-read past a row shows under AddressSanitizer.
  for (PixelFormat format : {PixelFormat::kRgb8, PixelFormat::kRgba8}) {
    const int w = 37, h = 23, ch = framescribe::core::channels_of(format);
    const std::size_t stride = static_cast<std::size_t>(w) * ch + 13;
    Image tight(w, h, format);
    std::vector<std::uint8_t> padded(stride * h, 0xEE);
    std::uint32_t s = 7;
    for (int y = 0; y < h; ++y)
      for (int i = 0; i < w * ch; ++i) {
        s = s * 1664525u + 1013904223u;
        const auto v = static_cast<std::uint8_t>(s >> 24);
        tight.data()[tight.stride_bytes() * y + i] = v;
        padded[stride * y + i] = v;
      }
    const ImageView padded_view{padded.data(), w, h, stride, format};
    const PixelImage a = preprocess_image(tight.view());
    const PixelImage b = preprocess_image(padded_view);
    EXPECT_EQ(a.width_px, 48);
    EXPECT_EQ(a.height_px, 32);
    EXPECT_EQ(a.chw, b.chw) << "format " << ch << " channels";
  }
}

// ---------------------------------------------------------------------------------------------
// Golden: transformers 5.17.0 PixtralImageProcessor

struct F32Tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// A deliberately tiny safetensors reader (8-byte little-endian header length, JSON header,
// little-endian data) so this test does not depend on the engine's reader.
F32Tensor read_f32_tensor(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::vector<unsigned char> file((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  const auto le = [&](std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | file.at(at + static_cast<std::size_t>(i));
    return v;
  };
  const std::uint64_t header_len = le(0, 8);
  if (header_len > file.size() - 8) throw std::runtime_error(path + ": header past the end");
  const auto header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + header_len);
  const auto& t = header.at(name);
  if (t.at("dtype") != "F32") throw std::runtime_error(path + ": " + name + " is not F32");
  F32Tensor out;
  out.shape = t.at("shape").get<std::vector<std::int64_t>>();
  const auto begin = t.at("data_offsets").at(0).get<std::size_t>() + 8 + header_len;
  const auto end = t.at("data_offsets").at(1).get<std::size_t>() + 8 + header_len;
  if (end > file.size() || begin > end || (end - begin) % 4 != 0)
    throw std::runtime_error(path + ": bad data_offsets for " + name);
  for (std::size_t at = begin; at < end; at += 4)
    out.values.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(le(at, 4))));
  return out;
}

// The image transformers was given: 400x300, R = x*255//399, G = y*255//299, B = (7x+13y) % 256.
Image golden_input(bool swap_red_blue) {
  Image img(400, 300, PixelFormat::kRgb8);
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 400; ++x) {
      std::uint8_t* p = img.data() + img.stride_bytes() * y + 3 * x;
      p[0] = static_cast<std::uint8_t>(x * 255 / 399);
      p[1] = static_cast<std::uint8_t>(y * 255 / 299);
      p[2] = static_cast<std::uint8_t>((7 * x + 13 * y) % 256);
      if (swap_red_blue) std::swap(p[0], p[2]);
    }
  return img;
}

struct Diff {
  double max_abs = 0, mean_abs = 0;
};

Diff diff(const std::vector<float>& a, const std::vector<float>& b, std::size_t begin,
          std::size_t end) {
  Diff d;
  for (std::size_t i = begin; i < end; ++i) {
    const double e = std::abs(static_cast<double>(a[i]) - b[i]);
    d.max_abs = std::max(d.max_abs, e);
    d.mean_abs += e;
  }
  d.mean_abs /= static_cast<double>(end - begin);
  return d;
}

TEST(PreprocessImage, CloseToTransformersGolden) {
  const F32Tensor gold = read_f32_tensor(
      FS_TEST_DATA_DIR "/reference/preprocess_expected.safetensors", "pixel_values");
  ASSERT_EQ(gold.shape, (std::vector<std::int64_t>{3, 192, 256}));

  PreprocessOptions options;
  options.longest_edge_px = 256;
  const PixelImage ours = preprocess_image(golden_input(false).view(), options);
  // The size must agree exactly: it decides the token count.
  ASSERT_EQ(ours.width_px, 256);
  ASSERT_EQ(ours.height_px, 192);
  ASSERT_EQ(ours.chw.size(), gold.values.size());
  double norm = 0;
  for (float v : ours.chw) {
    ASSERT_TRUE(std::isfinite(v));
    norm += static_cast<double>(v) * v;
  }
  EXPECT_GT(norm, 1.0);

  // Exact agreement is not expected: transformers resizes with torchvision/PIL bicubic
  // (A = -0.5, antialiased when shrinking, 1.5625x here) and quantises to uint8 (its values are
  // all k/255 before normalising), where framescribe follows cv2 INTER_CUBIC on float32.
  // Measured (this implementation, which matches cv2 4.6.0 bit for bit):
  //   R: max 0.0082, mean 0.0031;  G: max 0.0079, mean 0.0035;  B: max 1.27, mean 0.077;
  //   all: max 1.27, mean 0.028.
  // R and G are staircase ramps, where any cubic stays within the uint8 quantisation of the
  // golden (0.5 grey level = 0.0075 after normalisation) plus a little: bound 0.012 per value
  // (0.8 grey levels). B is a sawtooth jumping 255 -> 0 every 37 px; at each jump cv2's cubic
  // overshoots past 0..255 unclamped while transformers blurs and clamps, so single values
  // differ by up to 1.27 (87 grey levels) and only the mean is a tight check: bound 0.1.
  // Overall mean bound 0.04. The broken variants checked below are 17x or more above it.
  const std::size_t plane = 192 * 256;
  const Diff r = diff(ours.chw, gold.values, 0, plane);
  const Diff g = diff(ours.chw, gold.values, plane, 2 * plane);
  const Diff b = diff(ours.chw, gold.values, 2 * plane, 3 * plane);
  const Diff all = diff(ours.chw, gold.values, 0, 3 * plane);
  std::printf(
      "golden diff: R max %.4f mean %.4f, G max %.4f mean %.4f, B max %.4f mean %.4f, "
      "all max %.4f mean %.4f\n",
      r.max_abs, r.mean_abs, g.max_abs, g.mean_abs, b.max_abs, b.mean_abs, all.max_abs,
      all.mean_abs);
  EXPECT_LE(r.max_abs, 0.012);
  EXPECT_LE(g.max_abs, 0.012);
  EXPECT_LE(b.mean_abs, 0.1);
  EXPECT_LE(b.max_abs, 1.5);
  EXPECT_LE(all.mean_abs, 0.04);

  // The bounds must reject a broken pipeline. Red and blue swapped at the input:
  const PixelImage bgr = preprocess_image(golden_input(true).view(), options);
  EXPECT_GT(diff(bgr.chw, gold.values, 0, 3 * plane).mean_abs, 0.5);
  // Mirrored left to right (an x/y or index mix-up in the resize):
  std::vector<float> mirrored(ours.chw.size());
  for (std::size_t row = 0; row < 3 * 192; ++row)
    std::reverse_copy(ours.chw.begin() + row * 256, ours.chw.begin() + (row + 1) * 256,
                      mirrored.begin() + row * 256);
  EXPECT_GT(diff(mirrored, gold.values, 0, 3 * plane).mean_abs, 0.5);
  // Rescaled but not normalised:
  PreprocessOptions unnormalised = options;
  unnormalised.mean = {0, 0, 0};
  unnormalised.std = {1, 1, 1};
  const PixelImage raw = preprocess_image(golden_input(false).view(), unnormalised);
  EXPECT_GT(diff(raw.chw, gold.values, 0, 3 * plane).mean_abs, 0.5);
}

}  // namespace
