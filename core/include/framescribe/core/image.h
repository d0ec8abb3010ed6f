// Images in memory: an owning 8-bit interleaved Image and a non-owning ImageView.
//
//   framescribe::core::Image img(640, 480, framescribe::core::PixelFormat::kRgb8);
//   img.data()[img.stride_bytes() * y + 3 * x + 0] = 255;   // red at (x, y)
//   framescribe::core::ImageView view = img.view();          // cheap, does not own
//
// An ImageView must not outlive the buffer it points to. Neither type is internally
// synchronised; share across threads only for reading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace framescribe::core {

enum class PixelFormat { kRgb8, kRgba8 };

constexpr int channels_of(PixelFormat f) {
  return f == PixelFormat::kRgb8 ? 3 : 4;
}

struct ImageView {
  const std::uint8_t* data = nullptr;
  int width_px = 0;
  int height_px = 0;
  std::size_t stride_bytes = 0;  // bytes from one row to the next (>= width * channels)
  PixelFormat format = PixelFormat::kRgb8;

  int channels() const { return channels_of(format); }
  const std::uint8_t* row(int y) const { return data + stride_bytes * static_cast<std::size_t>(y); }
  bool empty() const { return data == nullptr || width_px <= 0 || height_px <= 0; }
};

class Image {
 public:
  Image() = default;
  // Zero-filled, tightly packed. Throws framescribe::Error on impossible sizes.
  Image(int width_px, int height_px, PixelFormat format);

  int width_px() const { return width_px_; }
  int height_px() const { return height_px_; }
  PixelFormat format() const { return format_; }
  std::size_t stride_bytes() const {
    return static_cast<std::size_t>(width_px_) * channels_of(format_);
  }
  std::uint8_t* data() { return pixels_.data(); }
  const std::uint8_t* data() const { return pixels_.data(); }
  ImageView view() const {
    return {pixels_.data(), width_px_, height_px_, stride_bytes(), format_};
  }

 private:
  int width_px_ = 0;
  int height_px_ = 0;
  PixelFormat format_ = PixelFormat::kRgb8;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace framescribe::core
