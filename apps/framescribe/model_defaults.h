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
#include "video_options.h"

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

// The settings of a command that loads a model, from three layers: what the user gave (command
// line or job file) wins, then the model folder's framescribe.json, then the commands' own
// defaults (1 frame per second, 512 px frames, 512 answer tokens). summarize, batch, probe and
// frames go through resolve_model_settings, so that one video is planned the same way by all.
inline constexpr double kDefaultFps = 1.0;
inline constexpr int kDefaultMaxEdge = 512;
inline constexpr int kDefaultMaxTokens = 512;
struct ModelRequest {
  std::string model;  // --model / defaults.model; empty: $FRAMESCRIBE_MODEL, else the demo model
  EngineChoice engine;
  int threads = 0;           // CPU engine threads (0: all)
  std::int64_t context = 0;  // context tokens (0: the model's)
  // Which of the settings framescribe.json may recommend the user gave:
  bool sampling_given = false;  // a sampling mode (--fps, --every, --keyframes, --scene)
  bool size_given = false;      // a size rule (--max-edge, --max-frame-tokens)
  bool max_tokens_given = false;
  // False (probe, frames): with no model to be found, the commands' defaults apply instead of
  // the error.
  bool model_required = true;
};
// Sets r's *_given flags from the options parsed on `cmd` (--fps, --every, --keyframes, --scene;
// --max-edge, --max-frame-tokens; --max-tokens), whichever of them it has.
void note_given_options(const CLI::App& cmd, ModelRequest* r);
struct ModelSettings {
  std::filesystem::path dir;        // the model folder used
  bool is_demo = false;             // the bundled demo model was picked
  ModelDefaults recommended;        // its framescribe.json
  inference::EngineOptions engine;  // device, load format, threads, context
};
// Resolves the model folder (resolve_model_dir), reads its framescribe.json and fills what the
// user did not give: `video`'s sampling mode and size, `*max_tokens` (either may be null). The
// engine options follow r.engine (a warning for dummy weights). Throws like the functions above.
ModelSettings resolve_model_settings(const ModelRequest& r, VideoOptions* video, int* max_tokens);
// probe and frames: -m/--model, the model whose framescribe.json plans the video.
void add_planning_model_option(CLI::App* cmd, std::string* model);
// probe and frames, after parsing: the sampling and size summarize would use on the same command
// line and model, checked (a bad combination is a usage error, exit 2); FFmpeg's own log goes
// to ours (shown with -v).
struct PlannedSampling {
  decoder::SamplingOptions sampling;
  decoder::OutputSizing sizing;
};
PlannedSampling planned_sampling(const CLI::App& cmd, const std::string& model,
                                 VideoOptions* video);
// The notice printed when the bundled demo model was picked (not with -q): "For real `inputs`
// give --model DIR with Pixtral-12B".
void print_demo_model_notice(const ModelSettings& s, const char* inputs = "videos");
// The model's name in outputs and reports: the folder's name ("pixtral-12b" for
// models/pixtral-12b/ too).
std::string model_display_name(const std::filesystem::path& dir);

// The bundled demo model's folder name.
inline constexpr const char* kDemoModelName = "framescribe-demo";

}  // namespace framescribe::apps
