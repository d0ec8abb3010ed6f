// Loads the model of a run once (summarize, batch, monitor, serve): the folder's config and
// tokenizer, the engine, and the Pixtral window engine over them.
//
//   inference::ModelSettings m = inference::resolve_model_settings(request);
//   auto engine = pixtral::load_window_engine(m.dir.string(), request.engine, m.engine, window);
//   pipeline::VideoPipeline vp(*engine, sinks, options);
//
// Rules: with EngineChoice::load_format "dummy" no weight file is needed (random weights of the
// config's sizes). Errors: throws Error as the loaders do (a missing or broken config,
// tokenizer or weight file names the file). Thread-safe (no shared state); the engine returned
// is as PixtralWindowEngine.
#pragma once

#include <memory>
#include <string>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/pixtral/window_engine.h"

namespace framescribe::pixtral {

// The folder's config (inference::load_config with `choice`), its tokenizer
// (inference::find_tokenizer), the engine with `engine` (inference::load_engine) and the window
// engine over them with `window`.
std::unique_ptr<PixtralWindowEngine> load_window_engine(const std::string& model_dir,
                                                        const inference::EngineChoice& choice,
                                                        const inference::EngineOptions& engine,
                                                        PixtralWindowOptions window);

}  // namespace framescribe::pixtral
