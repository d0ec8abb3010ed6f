// Writes a core::Image as a PNG file (FFmpeg's PNG encoder), so `framescribe frames` shows
// exactly the pixels the model will get, losslessly.
//
//   decoder::write_png("out/000012.345.png", frame.image->view());   // throws Error on failure
//
// Thread-safe: each call owns its encoder. The view is only read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "framescribe/core/image.h"

namespace framescribe::decoder {

// The PNG bytes of an RGB8 or RGBA8 image. Throws Error(kInvalidArgument) for an empty view.
std::vector<std::uint8_t> encode_png(const core::ImageView& image);

// encode_png, then writes the file. Throws Error(kIo) naming the path when it cannot write.
void write_png(const std::filesystem::path& path, const core::ImageView& image);

}  // namespace framescribe::decoder
