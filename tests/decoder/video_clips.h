// Test clips made at test time with the ffmpeg command, and readers for what their pictures
// say. Every clip shows the same pattern (any size), so a decoded picture tells which frame it
// is and which way up it is:
//   top-left quadrant      red (the orientation mark)
//   top-right quadrant     grey
//   bottom half            8 vertical stripes, stripe i white when bit i of the frame number
//                          is set (frame numbers 0..255)
// Clips are cached per test process in one temp dir (ctest runs each test in its own process,
// so each test makes only the clips it uses).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framescribe/core/frame.h"
#include "framescribe/decoder/ffmpeg_source.h"

namespace framescribe::testing {

// The lavfi input of the pattern: `-f lavfi -i <pattern(...)>`.
std::string pattern(int width_px, int height_px, double rate, double duration_s);

// True if this ffmpeg has the encoder (from `ffmpeg -encoders`).
bool has_encoder(const std::string& name);

// Makes (once) clip `name` (a file name with extension) by running
// `ffmpeg -hide_banner -loglevel error -nostdin <args> -y <dir>/<name>`. Returns the path, or
// nullopt with *error set when ffmpeg failed.
std::optional<std::filesystem::path> make_clip(const std::string& name, const std::string& args,
                                               std::string* error = nullptr);
std::filesystem::path clip_dir();

// The frame number the stripes encode, or -1 if the stripes are not clean black/white.
int read_frame_number(const core::Image& image);
// 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left: where the red mark is.
int red_corner(const core::Image& image);

struct Decoded {
  std::vector<core::Frame> frames;
  decoder::SourceStats stats;
  decoder::StreamInfo info;
};
Decoded decode(const std::filesystem::path& clip, const decoder::SamplingOptions& sampling = {},
               const decoder::OutputSizing& sizing = {}, decoder::SourceOptions source = {});

// Log lines at warning level and above, captured while alive.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::vector<std::string> warnings() const;
  bool contains(const std::string& text) const;
};

}  // namespace framescribe::testing
