// Writes a core::Image as a PNG file (FFmpeg's PNG encoder), so `framescribe frames` shows
// exactly the pixels the model will get, losslessly. Files are replaced atomically (a
// temporary renamed over the target), so a symlink already in the output directory is
// replaced, never written through.
//
//   decoder::write_png("out/000012.345.png", frame.image->view());   // throws Error on failure
//
// Thread-safe: each call owns its encoder. The view is only read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "framescribe/core/image.h"

namespace framescribe::decoder {

// The PNG bytes of an RGB8 or RGBA8 image. Throws Error(kInvalidArgument) for an empty view.
std::vector<std::uint8_t> encode_png(const core::ImageView& image);

// encode_png, then writes the file with write_file_atomic. Throws Error(kIo) naming the path
// when it cannot write.
void write_png(const std::filesystem::path& path, const core::ImageView& image);

// Writes `bytes` to `path` through a temporary file beside it (created exclusively, never
// following a symlink) renamed over `path`: whatever is already at `path` - a symlink placed
// in an output directory included - is replaced, never written through, and no reader sees a
// partial file. Throws Error(kIo) naming the path.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace framescribe::decoder
