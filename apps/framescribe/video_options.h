// Command-line options shared by the commands that read video (frames, probe): sampling policy,
// time range, output size, and the conversion to decoder option structs.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "framescribe/decoder/size_advice.h"
#include "framescribe/decoder/video_request.h"

namespace framescribe::apps {

// The options map one to one onto decoder::VideoRequest (its sampling(), sizing(), source()).
using VideoOptions = decoder::VideoRequest;

// Registers VIDEO (unless `positional` is false) and the sampling/size options on `cmd`. The
// decoder's threads are --decoder-threads: --threads means the engine's in every command, so a
// command without an engine (probe, frames) passes `threads_alias` to read its old --threads too.
void add_video_options(CLI::App* cmd, VideoOptions* opts, bool positional = true,
                       bool threads_alias = false);

// A CLI11 transform for media-time options: rewrites [HH:]MM:SS[.ms] to seconds so the option
// keeps its double; a bad value is a usage error (exit 2) saying what is accepted.
CLI::Validator media_time_validator();

// The longest-edge check of --max-edge (ask's, summarize's, monitor's ...): a multiple of
// `patch_px` between `patch_px` and `max_px`. A bad value is a usage error (exit 2) naming the
// nearest valid values: "--max-edge must be a multiple of 16 between 16 and 1024: try 496 or 512".
CLI::Validator max_edge_validator(int patch_px = 16, int max_px = 1024);
// The message itself, for checks made after parsing: decoder/size_advice.h.
using decoder::max_edge_message;

// A CLI11 range check whose message says what the option means: "--fps must be > 0 and <= 1000".
CLI::Validator number_range(double lo, double hi, bool lo_open = false);

// Help text describing the sampling modes, for command footers.
extern const char* const kSamplingHelp;

}  // namespace framescribe::apps
