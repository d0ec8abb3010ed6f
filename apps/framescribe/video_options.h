// Command-line options shared by the commands that read video (frames, probe): sampling policy,
// time range, output size, and the conversion to decoder option structs.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"

namespace framescribe::apps {

struct VideoOptions {
  std::string video;
  double fps = 0;
  long long every = 0;
  bool keyframes = false;
  double scene = -1;
  double scene_min_gap_s = 0;
  double max_gap_s = 0;
  double start_s = 0;
  double end_s = -1;
  long long max_frames = 0;
  int max_edge_px = 1024;
  int max_frame_tokens = 0;
  int threads = 0;

  decoder::SamplingOptions sampling() const;  // throws Error(kInvalidArgument)
  decoder::OutputSizing sizing() const;       // throws Error(kInvalidArgument)
  decoder::SourceOptions source() const;
};

// Registers VIDEO (unless `positional` is false) and the sampling/size options on `cmd`.
void add_video_options(CLI::App* cmd, VideoOptions* opts, bool positional = true);

// Help text describing the sampling modes, for command footers.
extern const char* const kSamplingHelp;

// Prints progress to stderr at most every half second, on one line when stderr is a terminal.
class Progress {
 public:
  explicit Progress(std::string what, bool enabled = true);
  void update(double at_s, double total_s, long long sampled);
  void done();

 private:
  std::string what_;
  bool enabled_;
  bool tty_;
  double last_print_ = -1;
  bool printed_ = false;
};

}  // namespace framescribe::apps
