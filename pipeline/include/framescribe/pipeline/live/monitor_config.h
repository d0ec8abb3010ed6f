// `framescribe monitor --config monitor.yaml`: streams with their own windows, prompts and alert
// rules, read strictly (an unknown key, a wrong type or a bad value is an error naming
// FILE:LINE:COLUMN and the key path).
//
//   pipeline::LiveOptions base = ...;                    // from the command line
//   pipeline::MonitorConfig c = pipeline::load_monitor_config("monitor.yaml", base);
//   for (const auto& s : c.streams) start(s.url, s.name, s.live);
//
// The file:
//   version: 1                       # required
//   defaults:                        # optional: over the command line's values, for every stream
//     interval: 10                   #   seconds between windows (> 0; 'every', its old name,
//                                    #   is read with a warning)
//     window: 10                     #   seconds of frames per window (> 0), or
//     frames: 8                      #   the last K sampled frames (> 0) instead
//     sample: 1                      #   seconds between kept frames (> 0)
//     max_frames_per_window: 8
//     max_pending: 1                 #   windows waiting for the engine (older ones dropped)
//     prompt: "..."                  #   window prompt ({start} {end} {video} {n_frames})
//     alerts:                        #   yes/no rules (a stream's own list replaces this one)
//       - name: person               #     [A-Za-z0-9_.-]+, unique per stream
//         question: Is there a person in the frames? Answer yes or no.
//         threshold: 0.5             #     P(yes) at or above is a hit, in [0, 1]
//         need: 1                    #     hits needed ...
//         of: 1                      #     ... in the last M windows (need <= of)
//         cooldown: 60               #     seconds between two alerts of the rule (>= 0; 60)
//   streams:                         # required, at least one
//     - url: rtsp://cam1/stream      #   required
//       name: dock                   #   optional display name (default: the URL, redacted)
//       interval: 5                  #   any key of defaults, for this stream only
//
// Pure functions; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/pipeline/live/live_job.h"

namespace framescribe::pipeline {

struct MonitorStreamConfig {
  std::string url;
  std::string name;  // empty: name it after the URL
  LiveOptions live;
};

struct MonitorConfig {
  std::vector<MonitorStreamConfig> streams;
};

// `base` holds every value the file leaves out. Throws Error(kInvalidArgument) with a mark.
MonitorConfig parse_monitor_config(const std::string& text, const std::string& file_name,
                                   const LiveOptions& base);
// Reads the file; Error(kNotFound) if it cannot be read.
MonitorConfig load_monitor_config(const std::filesystem::path& path, const LiveOptions& base);

}  // namespace framescribe::pipeline
