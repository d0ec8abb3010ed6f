// Still images from files and data URIs: every format, alpha, EXIF orientation, and bad input
// (each a framescribe::Error naming the input, never a crash). Images are made at test time
// with the ffmpeg command or written byte by byte.
#include "framescribe/decoder/still_image.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/log.h>
}

#include "decoder/image_test_util.h"
#include "framescribe/core/error.h"
#include "inference/test_files.h"
#include "still_image_internal.h"

namespace framescribe::decoder {
namespace {

using core::Image;
using core::PixelFormat;
using testing::Rgb;
using testing::TempDir;

std::array<int, 4> pixel(const Image& img, int x, int y) {
  const int ch = core::channels_of(img.format());
  const std::uint8_t* p = img.data() + img.stride_bytes() * y + static_cast<std::size_t>(x) * ch;
  return {p[0], p[1], p[2], ch == 4 ? p[3] : 255};
}

::testing::AssertionResult near(const Image& img, int x, int y, Rgb want, int tol) {
  auto p = pixel(img, x, y);
  if (std::abs(p[0] - want.r) <= tol && std::abs(p[1] - want.g) <= tol &&
      std::abs(p[2] - want.b) <= tol)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "pixel (" << x << "," << y << ") is (" << p[0] << ","
                                       << p[1] << "," << p[2] << "), want (" << int(want.r) << ","
                                       << int(want.g) << "," << int(want.b) << ") +- " << tol;
}

// Corners, 2 pixels in: top-left, top-right, bottom-left, bottom-right.
void expect_corners(const Image& img, const std::array<Rgb, 4>& want, int tol) {
  const int w = img.width_px(), h = img.height_px();
  EXPECT_TRUE(near(img, 2, 2, want[0], tol)) << "top-left";
  EXPECT_TRUE(near(img, w - 3, 2, want[1], tol)) << "top-right";
  EXPECT_TRUE(near(img, 2, h - 3, want[2], tol)) << "bottom-left";
  EXPECT_TRUE(near(img, w - 3, h - 3, want[3], tol)) << "bottom-right";
}

constexpr std::array<Rgb, 4> kUpright = {testing::kTopLeft, testing::kTopRight,
                                         testing::kBottomLeft, testing::kBottomRight};

// The loader must fail with `code` and a message naming the input (and containing `what`).
template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& names, const std::string& what = "") {
  try {
    f();
    ADD_FAILURE() << "no error; expected " << to_string(code) << " naming " << names;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    if (!what.empty()) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
}

class StillImage : public ::testing::Test {
 protected:
  static constexpr int kW = 48, kH = 32;
  std::filesystem::path encode(const std::string& file, const std::string& extra = "") {
    auto path = dir_ / file;
    EXPECT_TRUE(
        testing::ffmpeg_encode(testing::quadrants_rgb(kW, kH), kW, kH, "rgb24", path, extra));
    return path;
  }
  TempDir dir_;
};

TEST_F(StillImage, PngIsExact) {
  auto path = encode("q.png");
  Image img = load_image(path.string());
  ASSERT_EQ(img.width_px(), kW);
  ASSERT_EQ(img.height_px(), kH);
  EXPECT_EQ(img.format(), PixelFormat::kRgb8);
  auto want = testing::quadrants_rgb(kW, kH);
  EXPECT_EQ(std::vector<std::uint8_t>(img.data(), img.data() + want.size()), want);
}

TEST_F(StillImage, EveryFormatDecodes) {
  struct Case {
    std::string file, extra;
    int tol;
  };
  const Case cases[] = {
      {"q.bmp", "", 0},
      {"q.jpg", "-q:v 2", 40},
      {"q.webp", "-c:v libwebp -lossless 1", 0},
      {"q_lossy.webp", "-c:v libwebp -quality 90", 40},
      {"q.gif", "", 40},  // 8-bit palette
      {"q.apng", "-f apng", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    Image img = load_image(encode(c.file, c.extra).string());
    ASSERT_EQ(img.width_px(), kW);
    ASSERT_EQ(img.height_px(), kH);
    EXPECT_EQ(img.format(), PixelFormat::kRgb8);  // opaque: no alpha kept
    expect_corners(img, kUpright, c.tol);
  }
}

TEST_F(StillImage, GifGivesItsFirstFrame) {
  // Two frames: red then blue.
  const int w = 16, h = 8;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 3 * 2, 0);
  for (std::size_t i = 0; i < px.size() / 2; i += 3) px[i] = 255;
  for (std::size_t i = px.size() / 2; i < px.size(); i += 3) px[i + 2] = 255;
  auto raw = dir_ / "two.raw";
  testing::write_bytes(raw, px);
  const std::string cmd =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 "
      "-s 16x8 -r 2 -i '" +
      raw.string() + "' '" + (dir_ / "two.gif").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Image img = load_image((dir_ / "two.gif").string());
  EXPECT_TRUE(near(img, 8, 4, {255, 0, 0}, 40));
}

TEST_F(StillImage, AlphaIsKeptWhenUsed) {
  const int w = 8, h = 4;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 4);
  for (int i = 0; i < w * h; ++i) {
    px[4 * i + 0] = static_cast<std::uint8_t>(i * 7);
    px[4 * i + 1] = 100;
    px[4 * i + 2] = 200;
    px[4 * i + 3] = static_cast<std::uint8_t>(i * 8);  // 0 (transparent) .. 248
  }
  for (const std::string file : {"a.png", "a.webp"}) {
    SCOPED_TRACE(file);
    auto path = dir_ / file;
    ASSERT_TRUE(testing::ffmpeg_encode(px, w, h, "rgba", path,
                                       file == "a.webp" ? "-c:v libwebp -lossless 1" : ""));
    Image img = load_image(path.string());
    ASSERT_EQ(img.format(), PixelFormat::kRgba8);
    ASSERT_EQ(img.width_px(), w);
    for (int i = 0; i < w * h; ++i) {
      EXPECT_EQ(img.data()[4 * i + 3], px[4 * i + 3]) << "alpha of pixel " << i;
      if (px[4 * i + 3] != 0 && file == "a.png") {  // lossless WebP may drop invisible colours
        EXPECT_EQ(img.data()[4 * i + 0], px[4 * i + 0]) << "red of pixel " << i;
      }
    }
  }
  // Fully opaque RGBA comes back as RGB.
  for (int i = 0; i < w * h; ++i) px[4 * i + 3] = 255;
  auto opaque = dir_ / "opaque.png";
  ASSERT_TRUE(testing::ffmpeg_encode(px, w, h, "rgba", opaque));
  EXPECT_EQ(load_image(opaque.string()).format(), PixelFormat::kRgb8);
}

// An APP1 segment holding a little-endian TIFF with one IFD0 entry: Orientation = value.
std::vector<std::uint8_t> with_exif_orientation(std::vector<std::uint8_t> jpeg, int value) {
  const std::vector<std::uint8_t> app1 = {0xFF,
                                          0xE1,
                                          0x00,
                                          34,  // APP1, length 34 (itself included)
                                          'E',
                                          'x',
                                          'i',
                                          'f',
                                          0,
                                          0,  // "Exif\0\0"
                                          'I',
                                          'I',
                                          0x2A,
                                          0x00,
                                          8,
                                          0,
                                          0,
                                          0,  // TIFF header, IFD0 at 8
                                          1,
                                          0,  // one entry
                                          0x12,
                                          0x01,
                                          3,
                                          0,
                                          1,
                                          0,
                                          0,
                                          0,  // tag 0x0112 SHORT, count 1
                                          static_cast<std::uint8_t>(value),
                                          0,
                                          0,
                                          0,  // value
                                          0,
                                          0,
                                          0,
                                          0};  // no next IFD
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

TEST_F(StillImage, ExifOrientationAllEight) {
  const auto jpeg = testing::file_bytes(encode("q.jpg", "-q:v 2"));
  const Rgb tl = testing::kTopLeft, tr = testing::kTopRight, bl = testing::kBottomLeft,
            br = testing::kBottomRight;
  // EXIF 2.3 table: where the stored picture's corners are seen once displayed, read off the
  // "0th row / 0th column" description of each value.
  const std::array<Rgb, 4> displayed[9] = {
      {},
      {tl, tr, bl, br},  // 1 top-left
      {tr, tl, br, bl},  // 2 top-right: mirrored left-right
      {br, bl, tr, tl},  // 3 bottom-right: rotated 180
      {bl, br, tl, tr},  // 4 bottom-left: mirrored top-bottom
      {tl, bl, tr, br},  // 5 left-top: transposed
      {bl, tl, br, tr},  // 6 right-top: turn 90 clockwise to view
      {br, tr, bl, tl},  // 7 right-bottom: transverse
      {tr, br, tl, bl},  // 8 left-bottom: turn 90 counter-clockwise to view
  };
  for (int o = 1; o <= 8; ++o) {
    SCOPED_TRACE("orientation " + std::to_string(o));
    auto bytes = with_exif_orientation(jpeg, o);
    Image img = decode_image(bytes, "exif.jpg");
    const bool swapped = o >= 5;
    ASSERT_EQ(img.width_px(), swapped ? kH : kW);
    ASSERT_EQ(img.height_px(), swapped ? kW : kH);
    expect_corners(img, displayed[o], 40);
    // Switched off: the stored picture as it is.
    StillImageOptions raw;
    raw.apply_orientation = false;
    Image stored = decode_image(bytes, "exif.jpg", raw);
    ASSERT_EQ(stored.width_px(), kW);
    expect_corners(stored, kUpright, 40);
  }
}

TEST(ExifOrientation, PixelExactOnASmallImage) {
  // 3 x 2, pixel value = 10 * (row + 1) + column: 10 11 12 / 20 21 22.
  Image img(3, 2, PixelFormat::kRgb8);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      img.data()[(y * 3 + x) * 3] = static_cast<std::uint8_t>(10 * (y + 1) + x);
  auto rows = [](const Image& im) {
    std::vector<std::vector<int>> out(im.height_px());
    for (int y = 0; y < im.height_px(); ++y)
      for (int x = 0; x < im.width_px(); ++x)
        out[y].push_back(im.data()[(y * im.width_px() + x) * 3]);
    return out;
  };
  using R = std::vector<std::vector<int>>;
  EXPECT_EQ(rows(apply_exif_orientation(img, 1)), (R{{10, 11, 12}, {20, 21, 22}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 2)), (R{{12, 11, 10}, {22, 21, 20}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 3)), (R{{22, 21, 20}, {12, 11, 10}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 4)), (R{{20, 21, 22}, {10, 11, 12}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 5)), (R{{10, 20}, {11, 21}, {12, 22}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 6)), (R{{20, 10}, {21, 11}, {22, 12}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 7)), (R{{22, 12}, {21, 11}, {20, 10}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 8)), (R{{12, 22}, {11, 21}, {10, 20}}));
  EXPECT_EQ(rows(apply_exif_orientation(img, 9)), rows(img));  // out of range: unchanged
}

TEST(ExifOrientation, FromFfmpegDisplayMatrix) {
  // libavutil/display.h: av_display_rotation_set "describes a pure clockwise rotation" (so
  // 90 is EXIF 6, as fftools' transpose=clock); av_display_matrix_flip mirrors the result.
  struct Case {
    double angle;
    int hflip, vflip, exif;
  };
  const Case cases[] = {{0, 0, 0, 1},   {0, 1, 0, 2},   {180, 0, 0, 3}, {0, 0, 1, 4},
                        {180, 1, 0, 4}, {90, 1, 0, 5},  {90, 0, 0, 6},  {-90, 1, 0, 7},
                        {-90, 0, 0, 8}, {270, 0, 0, 8}, {180, 1, 1, 1}, {45, 0, 0, 1}};
  for (const Case& c : cases) {
    std::int32_t m[9];
    av_display_rotation_set(m, c.angle);
    av_display_matrix_flip(m, c.hflip, c.vflip);
    EXPECT_EQ(detail::exif_orientation_from_display_matrix(m), c.exif)
        << "angle " << c.angle << " hflip " << c.hflip << " vflip " << c.vflip;
  }
}

TEST_F(StillImage, DataUriGivesTheSamePixelsAsTheFile) {
  auto path = encode("q.png");
  const std::string uri =
      "data:image/png;base64," + testing::base64_encode(testing::file_bytes(path));
  Image a = load_image(path.string()), b = load_image(uri);
  ASSERT_EQ(b.width_px(), a.width_px());
  ASSERT_EQ(b.height_px(), a.height_px());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.stride_bytes() * a.height_px()));
  // Line breaks inside the base64 and an upper-case scheme are accepted.
  std::string wrapped = "DATA:image/PNG;BASE64,";
  const std::string b64 = testing::base64_encode(testing::file_bytes(path));
  for (std::size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\r\n";
  EXPECT_EQ(load_image(wrapped).width_px(), kW);
}

TEST(Base64, Rfc4648Vectors) {
  auto dec = [](std::string_view s) {
    auto v = decode_base64(s, "t");
    return std::string(v.begin(), v.end());
  };
  EXPECT_EQ(dec(""), "");
  EXPECT_EQ(dec("Zg=="), "f");
  EXPECT_EQ(dec("Zm8="), "fo");
  EXPECT_EQ(dec("Zm9v"), "foo");
  EXPECT_EQ(dec("Zm9vYg=="), "foob");
  EXPECT_EQ(dec("Zm9vYmE="), "fooba");
  EXPECT_EQ(dec("Zm9vYmFy"), "foobar");
  EXPECT_EQ(dec("Zm9v\nYmFy"), "foobar");
  for (std::string bad : {"Zg", "Zm9", "Z===", "Zg=", "Zm9v=", "Zm9vYg==Zg==", "Zm9v!mFy",
                          "Zm9v-mFy", "=Zm9", "Zm\x80v"}) {
    expect_error([&] { decode_base64(bad, "uri#1"); }, ErrorCode::kInvalidArgument, "uri#1",
                 "invalid base64");
  }
}

TEST(ImageSource, ClassifyAndRedact) {
  EXPECT_EQ(classify_image_source("a/b.png"), ImageSourceKind::kFile);
  EXPECT_EQ(classify_image_source("file:///tmp/x.png"), ImageSourceKind::kFile);
  EXPECT_EQ(classify_image_source("HTTPS://x/y.png"), ImageSourceKind::kUrl);
  EXPECT_EQ(classify_image_source("ftp://x/y.png"), ImageSourceKind::kUrl);
  EXPECT_EQ(classify_image_source("data:image/png;base64,AA=="), ImageSourceKind::kDataUri);
  EXPECT_EQ(classify_image_source("dir://weird/but/a/name"), ImageSourceKind::kUrl);
  EXPECT_EQ(redact_url("https://user:secret@host:8080/a@b?x=1"), "https://host:8080/a@b?x=***");
  EXPECT_EQ(redact_url("http://tok@host/x"), "http://host/x");
  EXPECT_EQ(redact_url("http://host/x@y"), "http://host/x@y");
  EXPECT_EQ(redact_url("no-url"), "no-url");
  const std::string long_uri = "data:image/png;base64," + std::string(10000, 'A');
  const std::string d = describe_image_source(long_uri);
  EXPECT_LT(d.size(), 120u);
  EXPECT_NE(d.find("10022 characters"), std::string::npos) << d;
}

TEST_F(StillImage, BadInputsAreClearErrors) {
  auto png = testing::file_bytes(encode("q.png"));
  auto jpg = testing::file_bytes(encode("q.jpg"));

  auto empty = dir_ / "empty.png";
  testing::write_bytes(empty, {});
  expect_error([&] { load_image(empty.string()); }, ErrorCode::kInvalidArgument, "empty.png",
               "empty");

  expect_error([&] { load_image((dir_ / "missing.png").string()); }, ErrorCode::kNotFound,
               "missing.png");
  expect_error([&] { load_image(dir_.path().string()); }, ErrorCode::kInvalidArgument,
               dir_.path().string(), "directory");

  auto text = dir_ / "notes.png";
  testing::write_bytes(
      text, std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
  expect_error([&] { load_image(text.string()); }, ErrorCode::kInvalidArgument, "notes.png",
               "not an image");

  auto tiff = dir_ / "q.tiff";
  ASSERT_TRUE(testing::ffmpeg_encode(testing::quadrants_rgb(16, 16), 16, 16, "rgb24", tiff));
  expect_error([&] { load_image(tiff.string()); }, ErrorCode::kUnsupported, "q.tiff", "tiff");

  for (auto [bytes, file] : {std::pair{png, "trunc.png"}, std::pair{jpg, "trunc.jpg"}}) {
    bytes.resize(bytes.size() / 2);
    auto p = dir_ / file;
    testing::write_bytes(p, bytes);
    expect_error([&] { load_image(p.string()); }, ErrorCode::kInvalidArgument, file);
  }
  // Only the signature: a header that promises a picture and nothing after it.
  auto sig = dir_ / "sig.png";
  testing::write_bytes(sig, std::vector<std::uint8_t>(png.begin(), png.begin() + 8));
  expect_error([&] { load_image(sig.string()); }, ErrorCode::kInvalidArgument, "sig.png");

  StillImageOptions small;
  small.max_bytes = 100;
  auto q = dir_ / "q.png";
  expect_error([&] { load_image(q.string(), small); }, ErrorCode::kInvalidArgument, "q.png",
               "limit");
  small = {};
  small.max_pixels = 100;
  expect_error([&] { load_image(q.string(), small); }, ErrorCode::kInvalidArgument, "q.png");

  expect_error([&] { load_image("ftp://example.com/a.png"); }, ErrorCode::kUnsupported,
               "ftp://example.com/a.png");
  expect_error([&] { load_image("data:text/plain;base64,aGVsbG8="); }, ErrorCode::kInvalidArgument,
               "data:text/plain", "not an image");
  expect_error([&] { load_image("data:image/png,rawbytes"); }, ErrorCode::kUnsupported,
               "data:image/png", "base64");
  expect_error([&] { load_image("data:image/png;base64,"); }, ErrorCode::kInvalidArgument,
               "data:image/png");
  expect_error([&] { load_image("data:image/png;base64,iVBO!"); }, ErrorCode::kInvalidArgument,
               "data:image/png", "invalid base64");
  expect_error([&] { load_image("data:image/png;base64,aGVsbG8gd29ybGQ="); },
               ErrorCode::kInvalidArgument, "data:image/png", "not an image");
  expect_error([&] { load_image(""); }, ErrorCode::kInvalidArgument, "image");
}

void put_le(std::vector<std::uint8_t>& v, std::uint32_t x, int n) {
  for (int i = 0; i < n; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
void put_be(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {  // PNG's CRC (ISO 3309)
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

// Well-formed headers that promise a picture of zero width.
TEST(StillImageBytes, ZeroSizePicturesAreErrors) {
  std::vector<std::uint8_t> bmp = {'B', 'M'};
  put_le(bmp, 54 + 48, 4);  // file size
  put_le(bmp, 0, 4);        // reserved
  put_le(bmp, 54, 4);       // pixel data offset
  put_le(bmp, 40, 4);       // BITMAPINFOHEADER
  put_le(bmp, 0, 4);        // width 0
  put_le(bmp, 16, 4);       // height
  put_le(bmp, 1, 2);        // planes
  put_le(bmp, 24, 2);       // bits per pixel
  for (int i = 0; i < 6; ++i) put_le(bmp, 0, 4);
  bmp.resize(bmp.size() + 48, 0x80);
  expect_error([&] { decode_image(bmp, "zero.bmp"); }, ErrorCode::kInvalidArgument, "zero.bmp");

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&](const char* type, const std::vector<std::uint8_t>& data) {
    put_be(png, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    put_be(png, crc32(png.data() + start, png.size() - start));
  };
  std::vector<std::uint8_t> ihdr;
  put_be(ihdr, 0);                           // width 0
  put_be(ihdr, 16);                          // height
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
  chunk("IHDR", ihdr);
  chunk("IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // zlib of nothing
  chunk("IEND", {});
  expect_error([&] { decode_image(png, "zero.png"); }, ErrorCode::kInvalidArgument, "zero.png");
}

// A file cut short anywhere in its picture data is an error, not a partly grey picture.
TEST_F(StillImage, TruncatedFilesAreErrors) {
  for (auto [file, extra] :
       {std::pair{"t.png", ""}, std::pair{"t.jpg", ""}, std::pair{"t.webp", "-c:v libwebp"},
        std::pair{"t.bmp", ""}, std::pair{"t.gif", ""}}) {
    const auto bytes = testing::file_bytes(encode(file, extra));
    for (int percent : {10, 25, 50, 75, 90}) {
      SCOPED_TRACE(std::string(file) + " cut to " + std::to_string(percent) + "%");
      std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + bytes.size() * percent / 100);
      expect_error([&] { decode_image(cut, file); }, ErrorCode::kInvalidArgument, file);
    }
  }
}

// Truncations and random byte changes of every format: an image or a framescribe::Error, never
// a crash or another exception (ASan/UBSan builds run this too).
TEST_F(StillImage, DamagedFilesNeverCrash) {
  std::vector<std::vector<std::uint8_t>> originals;
  for (auto [file, extra] :
       {std::pair{"f.png", ""}, std::pair{"f.jpg", ""}, std::pair{"f.webp", "-c:v libwebp"},
        std::pair{"f.bmp", ""}, std::pair{"f.gif", ""}}) {
    originals.push_back(testing::file_bytes(encode(file, extra)));
  }
  StillImageOptions opts;
  opts.max_pixels = 1 << 20;  // mutated headers may claim huge pictures
  const int log_level = av_log_get_level();
  av_log_set_level(AV_LOG_QUIET);  // thousands of decoder complaints are expected here
  std::mt19937 rng(1234);
  int decoded = 0, errors = 0;
  auto attempt = [&](const std::vector<std::uint8_t>& bytes) {
    try {
      Image img = decode_image(bytes, "fuzzed", opts);
      EXPECT_GT(img.width_px(), 0);
      ++decoded;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fuzzed"), std::string::npos) << e.what();
      ++errors;
    }
  };
  for (const auto& orig : originals) {
    for (std::size_t n = 0; n < orig.size(); n += std::max<std::size_t>(1, orig.size() / 40))
      attempt(std::vector<std::uint8_t>(orig.begin(), orig.begin() + n));
    for (int i = 0; i < 150; ++i) {
      auto bytes = orig;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k)
        bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
      attempt(bytes);
    }
  }
  av_log_set_level(log_level);
  EXPECT_GT(errors, 0);
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace framescribe::decoder
