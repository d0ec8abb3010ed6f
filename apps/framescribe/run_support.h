// What the commands that run the pipeline share: loading the model, Ctrl-C handling and the
// facts of a run.
//
//   auto engine = load_window_engine(model_dir, choice, engine_options, window_options);
//   core::StopFlag stop;
//   ScopedStopSignals signals(stop);
//   auto source = open_video(url, video_options, &stop);  // SIGINT/SIGTERM raise `stop` now
//
// One ScopedStopSignals at a time (the handler reaches the flag through one global pointer,
// cleared with the default handlers restored by the destructor). Not thread-safe to construct.
#pragma once

#include <memory>
#include <string>

#include "framescribe/core/event.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/video_request.h"
#include "framescribe/inference/engine.h"
#include "framescribe/pixtral/window_engine.h"
#include "model_defaults.h"
#include "video_options.h"

namespace framescribe::apps {

// The model of a run (summarize, batch, monitor), loaded once: the folder's config (with
// --load-format dummy no weight file is needed) and tokenizer, the engine with `engine` (from
// resolve_model_settings), and the Pixtral window engine over them. Throws Error as the loaders.
std::unique_ptr<pixtral::PixtralWindowEngine> load_window_engine(
    const std::string& model_dir, const EngineChoice& choice,
    const inference::EngineOptions& engine, pixtral::PixtralWindowOptions window);

// SIGINT and SIGTERM call stop.request() while alive: the first asks to finish the window in
// progress, a second to abandon it. The destructor restores the default handlers.
class ScopedStopSignals {
 public:
  explicit ScopedStopSignals(core::StopFlag& stop);
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;
};

// open_video and file_run_info (summarize, batch) are the decoder's (video_request.h).
using decoder::file_run_info;
using decoder::open_video;

}  // namespace framescribe::apps
