// Which model a command uses when none is given, and the settings a model folder recommends.
//
// A model folder may hold `framescribe.json` beside its weights: the sampling and answer settings
// it was made for (the demo model was trained on 64-pixel frames at 1 fps; Pixtral-12B has none,
// so the commands' own defaults apply). Options given on the command line always win.
//
//   {"fps": 1.0, "max_edge": 64, "max_tokens": 192, "about": "what the model is"}
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"

namespace framescribe::apps {

struct ModelDefaults {
  std::optional<double> fps;      // frames sampled per second
  std::optional<int> max_edge;    // longest frame edge in pixels (a multiple of 16)
  std::optional<int> max_tokens;  // most tokens per answer
  std::string about;              // one line for the user
};

// Reads `<dir>/framescribe.json`; an absent file gives no defaults. Throws Error(kInvalidArgument)
// naming the file and key when a value has the wrong type or range.
ModelDefaults read_model_defaults(const std::filesystem::path& dir);

// The model folder to use: `given` when not empty, else $FRAMESCRIBE_MODEL, else the bundled demo
// model (installed under <prefix>/share/framescribe/models, or samples/models in the source
// tree). `*is_demo` tells whether the bundled demo model was picked. Throws Error(kNotFound) with
// a hint when nothing is found.
std::filesystem::path resolve_model_dir(const std::string& given, bool* is_demo = nullptr);

// --device and --load-format, shared by the commands that run the engine.
struct EngineChoice {
  std::string device = "cpu";              // cpu | cuda
  std::string load_format = "checkpoint";  // checkpoint | dummy
};
void add_engine_choice_options(CLI::App* cmd, EngineChoice* choice);
// The engine options they select (threads and context left to the caller). With dummy weights
// a warning says that the answers are meaningless.
inference::EngineOptions engine_options(const EngineChoice& choice);
// The model's config; with --load-format dummy the folder needs no weight file.
inference::ModelConfig load_config(const std::string& model_dir, const EngineChoice& choice);

// The bundled demo model's folder name.
inline constexpr const char* kDemoModelName = "framescribe-demo";

}  // namespace framescribe::apps
