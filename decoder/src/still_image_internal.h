// Internals of the still-image loader shared by its source files (not installed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/decoder/still_image.h"

namespace framescribe::decoder::detail {

// GET `url` (http or https) into memory with the limits of `options`. `name` is the redacted
// URL used in messages. Throws Error (kNotFound for 404/410, kIo for network errors and
// timeouts, kInvalidArgument when the body exceeds options.max_bytes).
std::vector<std::uint8_t> fetch_url(const std::string& url, const std::string& name,
                                    const StillImageOptions& options);

// The EXIF orientation (1..8) equivalent to an FFmpeg display matrix (AV_FRAME_DATA_DISPLAYMATRIX
// layout, 16.16 fixed point); 1 for a matrix that is not a multiple of 90 degrees.
int exif_orientation_from_display_matrix(const std::int32_t matrix[9]);

// Lower-case ASCII copy.
std::string ascii_lower(std::string_view s);

}  // namespace framescribe::decoder::detail
