// Engine-side image preprocessing, following mistral-common `ImageEncoder` (image.py @ bc022b91,
// docs/pixtral.md section 4): size rule, RGBA over white, cv2.resize INTER_CUBIC on float32,
// rescale and CLIP normalisation to CHW.
#include "framescribe/inference/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "framescribe/core/error.h"

namespace framescribe::inference {
namespace {

// Taps of one output position along one axis: four source positions, clamped to the image (what
// OpenCV's replicated border amounts to), and their Keys weights.
struct CubicTaps {
  std::array<int, 4> index{};
  std::array<float, 4> weight{};
};

// OpenCV's interpolateCubic (imgproc/src/resize.cpp), A = -0.75, in float and in the same order
// of operations, so the weights are bit-identical to cv2's.
std::array<float, 4> cubic_weights(float x) {
  constexpr float kA = -0.75f;
  std::array<float, 4> w{};
  w[0] = ((kA * (x + 1) - 5 * kA) * (x + 1) + 8 * kA) * (x + 1) - 4 * kA;
  w[1] = ((kA + 2) * x - (kA + 3)) * x * x + 1;
  w[2] = ((kA + 2) * (1 - x) - (kA + 3)) * (1 - x) * (1 - x) + 1;
  w[3] = 1.f - w[0] - w[1] - w[2];
  return w;
}

std::vector<CubicTaps> cubic_taps(int src_n, int dst_n) {
  // cv::resize computes the scale as 1 / (dst / src), not src / dst; the two can differ in the
  // last bit, which moves a position across a float rounding boundary now and then.
  const double scale = 1.0 / (static_cast<double>(dst_n) / src_n);
  std::vector<CubicTaps> taps(static_cast<std::size_t>(dst_n));
  for (int d = 0; d < dst_n; ++d) {
    // Half-pixel centres; OpenCV rounds the position to float before splitting it.
    const auto pos = static_cast<float>((d + 0.5) * scale - 0.5);
    const int left = static_cast<int>(std::floor(pos));
    const float frac = pos - static_cast<float>(left);
    CubicTaps& t = taps[static_cast<std::size_t>(d)];
    t.weight = cubic_weights(frac);
    for (int k = 0; k < 4; ++k) t.index[k] = std::clamp(left - 1 + k, 0, src_n - 1);
  }
  return taps;
}

// Separable cv2 INTER_CUBIC on interleaved RGB float rows: horizontal pass on the source rows,
// then vertical pass. Rows come in through `load_row(y, float* rgb)` and go out through
// `store_row(y, const float* rgb)` so that preprocess_image can read 8-bit pixels and write
// normalised planes without full-size float copies of the source and of the result.
template <typename LoadRow, typename StoreRow>
void resize_rows(int src_w, int src_h, int dst_w, int dst_h, LoadRow&& load_row,
                 StoreRow&& store_row) {
  std::vector<float> src_row(static_cast<std::size_t>(src_w) * 3);
  if (src_w == dst_w && src_h == dst_h) {
    // cv::resize copies here; the taps would be (0, 1, 0, 0) and give the same values anyway.
    for (int y = 0; y < src_h; ++y) {
      load_row(y, src_row.data());
      store_row(y, src_row.data());
    }
    return;
  }

  const std::vector<CubicTaps> x_taps = cubic_taps(src_w, dst_w);
  const std::vector<CubicTaps> y_taps = cubic_taps(src_h, dst_h);
  const std::size_t dst_row_floats = static_cast<std::size_t>(dst_w) * 3;

  // Shrinking by more than 4x vertically leaves source rows no output row reads; skip them.
  std::vector<char> row_used(static_cast<std::size_t>(src_h), 0);
  for (const CubicTaps& t : y_taps)
    for (int i : t.index) row_used[static_cast<std::size_t>(i)] = 1;

  std::vector<float> horizontal(static_cast<std::size_t>(src_h) * dst_row_floats);
  for (int y = 0; y < src_h; ++y) {
    if (!row_used[static_cast<std::size_t>(y)]) continue;
    load_row(y, src_row.data());
    float* out = horizontal.data() + static_cast<std::size_t>(y) * dst_row_floats;
    for (int x = 0; x < dst_w; ++x) {
      const CubicTaps& t = x_taps[static_cast<std::size_t>(x)];
      const float* p0 = src_row.data() + 3 * static_cast<std::size_t>(t.index[0]);
      const float* p1 = src_row.data() + 3 * static_cast<std::size_t>(t.index[1]);
      const float* p2 = src_row.data() + 3 * static_cast<std::size_t>(t.index[2]);
      const float* p3 = src_row.data() + 3 * static_cast<std::size_t>(t.index[3]);
      // Summed left to right like OpenCV's HResizeCubic, for the same rounding.
      for (int c = 0; c < 3; ++c)
        out[3 * x + c] =
            p0[c] * t.weight[0] + p1[c] * t.weight[1] + p2[c] * t.weight[2] + p3[c] * t.weight[3];
    }
  }

  std::vector<float> dst_row(dst_row_floats);
  for (int y = 0; y < dst_h; ++y) {
    const CubicTaps& t = y_taps[static_cast<std::size_t>(y)];
    const float* r0 = horizontal.data() + static_cast<std::size_t>(t.index[0]) * dst_row_floats;
    const float* r1 = horizontal.data() + static_cast<std::size_t>(t.index[1]) * dst_row_floats;
    const float* r2 = horizontal.data() + static_cast<std::size_t>(t.index[2]) * dst_row_floats;
    const float* r3 = horizontal.data() + static_cast<std::size_t>(t.index[3]) * dst_row_floats;
    // Summed right to left: the order of OpenCV's vectorised VResizeCubicVec_32f (v_muladd
    // nested from the last tap), which covers every row of a multiple-of-4 width. Checked bit
    // for bit against cv2 4.6.0 on x86-64; OpenCV's scalar tail for other widths sums left to
    // right, so there the last few values of a row may differ in the last bit.
    for (std::size_t i = 0; i < dst_row_floats; ++i)
      dst_row[i] =
          r0[i] * t.weight[0] + (r1[i] * t.weight[1] + (r2[i] * t.weight[2] + r3[i] * t.weight[3]));
    store_row(y, dst_row.data());
  }
}

// mistral-common pastes the image onto white with its own alpha as the mask
// (`white_bg.paste(image, (0, 0), image)`), which PIL computes in 8 bits as
// DIV255(255 * (255 - a) + c * a) with DIV255(v) = (t + (t >> 8)) >> 8, t = v + 128: exactly
// round(c * a/255 + 255 * (1 - a/255)) for these 16-bit values. Rounding to 8 bits like PIL
// (rather than keeping the float blend, up to 0.5 grey levels away) makes the input to the resize
// identical to the reference's.
std::uint8_t composite_over_white(std::uint8_t c, std::uint8_t a) {
  const unsigned t = 255u * (255u - a) + static_cast<unsigned>(c) * a + 128u;
  return static_cast<std::uint8_t>((t + (t >> 8)) >> 8);
}

}  // namespace

std::vector<float> resize_bicubic_rgb(const std::vector<float>& src, int src_w, int src_h,
                                      int dst_w, int dst_h) {
  FS_CHECK(src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0, kInvalidArgument,
           "resize_bicubic_rgb: sizes must be positive, got " << src_w << "x" << src_h << " -> "
                                                              << dst_w << "x" << dst_h);
  const std::size_t src_row_floats = static_cast<std::size_t>(src_w) * 3;
  FS_CHECK(src.size() == src_row_floats * static_cast<std::size_t>(src_h), kInvalidArgument,
           "resize_bicubic_rgb: expected " << src_row_floats * static_cast<std::size_t>(src_h)
                                           << " floats for " << src_w << "x" << src_h
                                           << " RGB, got " << src.size());

  const std::size_t dst_row_floats = static_cast<std::size_t>(dst_w) * 3;
  std::vector<float> dst(dst_row_floats * static_cast<std::size_t>(dst_h));
  resize_rows(
      src_w, src_h, dst_w, dst_h,
      [&](int y, float* rgb) {
        const float* row = src.data() + static_cast<std::size_t>(y) * src_row_floats;
        std::copy(row, row + src_row_floats, rgb);
      },
      [&](int y, const float* rgb) {
        std::copy(rgb, rgb + dst_row_floats,
                  dst.data() + static_cast<std::size_t>(y) * dst_row_floats);
      });
  return dst;
}

PixelImage preprocess_image(const core::ImageView& image, const PreprocessOptions& options) {
  FS_CHECK(!image.empty(), kInvalidArgument,
           "preprocess_image: empty image (" << image.width_px << "x" << image.height_px
                                             << (image.data == nullptr ? ", no data" : "") << ")");
  const int channels = image.channels();
  FS_CHECK(image.stride_bytes >= static_cast<std::size_t>(image.width_px) * channels,
           kInvalidArgument,
           "preprocess_image: stride " << image.stride_bytes << " bytes is shorter than a row of "
                                       << image.width_px << " pixels x " << channels << " bytes");
  for (float s : options.std)
    FS_CHECK(s > 0.0f, kInvalidArgument, "preprocess_image: std must be positive, got " << s);

  const TargetSize size =
      target_size(image.width_px, image.height_px, options.longest_edge_px, options.patch_px);
  PixelImage out;
  out.width_px = size.width_px;
  out.height_px = size.height_px;
  const std::size_t plane = static_cast<std::size_t>(size.width_px) * size.height_px;
  out.chw.resize(3 * plane);

  const auto load_row = [&](int y, float* rgb) {
    const std::uint8_t* row = image.row(y);
    if (image.format == core::PixelFormat::kRgb8) {
      for (int i = 0; i < 3 * image.width_px; ++i) rgb[i] = row[i];
      return;
    }
    for (int x = 0; x < image.width_px; ++x) {
      const std::uint8_t* px = row + 4 * x;
      for (int c = 0; c < 3; ++c) rgb[3 * x + c] = composite_over_white(px[c], px[3]);
    }
  };
  // mistral-common's normalize() (1.13.1) works in float32 throughout: the image divided by
  // np.float32(255), then the mean and std subtracted and divided as float32 arrays. The same
  // three float operations here make an image that needs no resize bit-identical to the
  // reference (tests/crosscheck found the earlier float64 mean/std, as mistral-common <= 1.11
  // did, one float rounding off).
  const auto store_row = [&](int y, const float* rgb) {
    float* dst = out.chw.data() + static_cast<std::size_t>(y) * size.width_px;
    for (int c = 0; c < 3; ++c) {
      float* plane_row = dst + static_cast<std::size_t>(c) * plane;
      const float mean = options.mean[c];
      const float std_dev = options.std[c];
      for (int x = 0; x < size.width_px; ++x) {
        const float scaled = rgb[3 * x + c] / 255.0f;
        plane_row[x] = (scaled - mean) / std_dev;
      }
    }
  };
  resize_rows(image.width_px, image.height_px, size.width_px, size.height_px, load_row, store_row);
  return out;
}

}  // namespace framescribe::inference
