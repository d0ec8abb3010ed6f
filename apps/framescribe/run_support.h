// What the commands that run the pipeline share: loading the model, Ctrl-C handling and the
// facts of a run.
//
//   auto engine = load_window_engine(model_dir, choice, engine_options, window_options);
//   core::StopFlag stop;
//   ScopedStopSignals signals(stop);
//   auto source = open_video(url, video_options, &stop);  // SIGINT/SIGTERM raise `stop` now
//
// One ScopedStopSignals at a time (core/stop_signals.h). Not thread-safe to construct.
#pragma once

#include <memory>
#include <string>

#include "framescribe/core/event.h"
#include "framescribe/core/stop.h"
#include "framescribe/core/stop_signals.h"
#include "framescribe/decoder/video_request.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pixtral/load_window_engine.h"
#include "framescribe/pixtral/window_engine.h"
#include "model_defaults.h"
#include "video_options.h"

namespace framescribe::apps {

// Loading the model of a run: pipeline/pixtral (load_window_engine.h); Ctrl-C: core
// (stop_signals.h).
using core::ScopedStopSignals;
using pixtral::load_window_engine;

// open_video and file_run_info (summarize, batch) are the decoder's (video_request.h).
using decoder::file_run_info;
using decoder::open_video;

}  // namespace framescribe::apps
