// Decodes a JPEG with libavcodec, for checking thumbnails: size and mean colour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace framescribe::testing {

struct JpegInfo {
  bool ok = false;
  std::string error;
  int width_px = 0;
  int height_px = 0;
  double mean_r = 0, mean_g = 0, mean_b = 0;  // over the whole picture, 0..255
};

JpegInfo probe_jpeg(const std::vector<std::uint8_t>& bytes);

}  // namespace framescribe::testing
