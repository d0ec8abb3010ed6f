// A video frame as it travels from a decoder source through the pipeline.
//
//   core::Frame f;                      // filled by a decoder source
//   f.pts_ns;                           // media time, relative to the stream start
//   f.image->view();                    // RGB8 pixels, already at the size the engine wants
//
// The pixels are reference-counted and immutable once published, so a Frame is cheap to copy
// and safe to hand to another thread; nobody mutates `image` after the source created it.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>

#include "framescribe/core/image.h"

namespace framescribe::core {

inline constexpr std::int64_t kNoTimestamp = INT64_MIN;

struct Frame {
  std::shared_ptr<const Image> image;         // RGB8 (or RGBA8), at the target size
  std::int64_t pts_ns = kNoTimestamp;         // media time relative to the stream start
  std::int64_t wall_clock_ns = kNoTimestamp;  // live sources: capture time (UTC), else none
  std::int64_t index = -1;  // frame number in the stream (0-based, presentation order)
  int source_width_px = 0;  // the picture as displayed (after rotation and SAR)
  int source_height_px = 0;
  bool keyframe = false;
};

// Seconds as a double, for printing and JSON.
inline double ns_to_seconds(std::int64_t ns) {
  return static_cast<double>(ns) * 1e-9;
}

// Media time in seconds rounded to the microsecond, for JSON and JSONL: 120 s stays 120, not
// 120.00000000000001 (nanosecond times through a float product), and 15 s prints as 15.0.
inline double media_seconds(std::int64_t ns) {
  return std::round(static_cast<double>(ns) / 1e3) / 1e6;
}

}  // namespace framescribe::core
