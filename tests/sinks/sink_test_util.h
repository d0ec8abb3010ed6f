// Test helpers for the sinks: a small hand-written run, frames of known colours, feeding a
// sink, reading files back, running a command with its output captured.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/event.h"
#include "framescribe/core/sink.h"

namespace framescribe::testing {

struct Rgb8 {
  std::uint8_t r, g, b;
};

// A w x h RGB8 frame of one colour.
std::shared_ptr<const core::Image> solid_frame(int w, int h, Rgb8 colour);
// A w x h RGB8 frame of four coloured quadrants (tl, tr, bl, br).
std::shared_ptr<const core::Image> quadrant_frame(int w, int h, Rgb8 tl, Rgb8 tr, Rgb8 bl, Rgb8 br);

struct SampleRun {
  core::RunInfo info;
  std::vector<core::WindowResult> windows;
  core::RunEnd end;
};

// The run every exact-output test uses (times in seconds):
//   window 0 [0, 10), frames 0, 2.5, 5, 7.5 (red, green, blue, yellow), hash 0123456789abcdef:
//     2.5-6.0   A red car <b>enters</b> & "stops"
//     8.0-8.0   Door opens --> someone exits
//   window 1 [8, 20), frames 8, 12, 16 (magenta, cyan, grey), hash fedcba9876543210:
//     8.0-20.0  "Two people talk.\n\n  They walk away | left.  "   (untimed)
//     8.5-11.0  Light turns green
//   video street_cam.mp4, 20 s, 1280x720, pixtral-tiny, 1 fps, 2025-01-02T03:04:05Z;
//   complete, 7 frames sampled, 0 skipped, 2 windows, wall 5.04 s, engine 4.2 s; summary
//   "A car arrives and stops.\nTwo people talk & leave.". Frames are 320x180.
SampleRun sample_run();
inline constexpr Rgb8 kRed{220, 30, 30}, kGreen{30, 200, 40}, kBlue{30, 40, 220},
    kYellow{230, 220, 30}, kMagenta{210, 40, 200}, kCyan{40, 210, 220}, kGrey{128, 128, 128};

// A longer run for looking at: `n_windows` windows of 10 s with two events each and quadrant
// frames whose colours change from window to window.
SampleRun demo_run(int n_windows);

// begin, every window, finish.
void feed(core::EventSink& sink, const SampleRun& run);
// begin and every window, no finish.
void feed_windows(core::EventSink& sink, const SampleRun& run);

std::string read_text(const std::filesystem::path& path);
void write_text_file(const std::filesystem::path& path, const std::string& text);
// Names of the entries of `dir`, sorted.
std::vector<std::string> dir_entries(const std::filesystem::path& dir);

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};
// Runs `command` with /bin/sh, stdin from /dev/null, stdout and stderr captured in files under
// `scratch`.
CommandResult run_command(const std::string& command, const std::filesystem::path& scratch);
// 'text' quoted for /bin/sh.
std::string shell_quote(const std::string& text);

}  // namespace framescribe::testing
