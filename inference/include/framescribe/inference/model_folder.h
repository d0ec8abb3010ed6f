// A model folder as the commands use it: which folder (given, $FRAMESCRIBE_MODEL, or the bundled
// demo model), the settings its `framescribe.json` recommends, the engine options a command's
// choices select, and the check that its tokenizer belongs to it.
//
//   inference::ModelRequest r;                     // what the user gave
//   r.model = "";                                  // none: $FRAMESCRIBE_MODEL, else the demo
//   r.engine = {.device = "cpu", .load_format = "checkpoint"};
//   inference::ModelSettings s = inference::resolve_model_settings(r);
//   int max_tokens = s.recommended.max_tokens.value_or(inference::kDefaultMaxTokens);
//   auto engine = inference::load_engine(s.dir, s.engine);
//
// `framescribe.json` beside the weights holds the sampling and answer settings the model was made
// for (the demo model: 64-pixel frames at 1 fps; Pixtral-12B has none, so the commands' own
// defaults apply). What the user gives always wins; applying the recommendation to a command's
// options is the caller's (apps::resolve_model_settings).
//
//   {"fps": 1.0, "max_edge": 64, "max_tokens": 192, "about": "what the model is"}
//
// Errors: Error(kInvalidArgument) naming the file and key for a malformed framescribe.json or a
// bad device / load format; Error(kNotFound) with a hint when no model is found;
// Error(kMalformedModel) when a tokenizer does not belong to its model. Pure functions (the
// environment and the file system are read); thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::inference {

struct ModelDefaults {
  std::optional<double> fps;      // frames sampled per second
  std::optional<int> max_edge;    // longest frame edge in pixels (a multiple of 16)
  std::optional<int> max_tokens;  // most tokens per answer
  std::string about;              // one line for the user
};

// Reads `<dir>/framescribe.json`; an absent file gives no defaults. Throws Error(kInvalidArgument)
// naming the file and key when a value has the wrong type or range.
ModelDefaults read_model_defaults(const std::filesystem::path& dir);

// The bundled demo model's folder name.
inline constexpr const char* kDemoModelName = "framescribe-demo";

// The model folder to use: `given` when not empty, else $FRAMESCRIBE_MODEL, else the bundled demo
// model (installed under <prefix>/share/framescribe/models beside the executable, or samples/models
// in the source tree). `*is_demo` tells whether the bundled demo model was picked. Throws
// Error(kNotFound) with a hint when nothing is found.
std::filesystem::path resolve_model_dir(const std::string& given, bool* is_demo = nullptr);

// The engine and weights a command picked (--device, --load-format).
struct EngineChoice {
  std::string device = "cpu";              // cpu | cuda
  std::string load_format = "checkpoint";  // checkpoint | dummy
};
// The engine options they select (threads and context left to the caller). With dummy weights a
// warning says that the answers are meaningless. Throws Error(kInvalidArgument) for other names.
EngineOptions engine_options(const EngineChoice& choice);
// The model's config; with load format dummy the folder needs no weight file.
ModelConfig load_config(const std::string& model_dir, const EngineChoice& choice);

// The commands' own defaults, when neither the user nor framescribe.json says.
inline constexpr double kDefaultFps = 1.0;
inline constexpr int kDefaultMaxEdge = 512;
inline constexpr int kDefaultMaxTokens = 512;

// What a command that loads a model was given (command line or job file).
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
struct ModelSettings {
  std::filesystem::path dir;  // the model folder used (empty: none found, model not required)
  bool is_demo = false;       // the bundled demo model was picked
  ModelDefaults recommended;  // its framescribe.json
  EngineOptions engine;       // device, load format, threads, context
};
// Resolves the model folder (resolve_model_dir), reads its framescribe.json and makes the engine
// options (r.engine, r.threads, r.context). Throws like the functions above.
ModelSettings resolve_model_settings(const ModelRequest& r);
// When s.is_demo, the notice that the bundled demo model was picked (three lines, its
// framescribe.json "about" or a default, "For real `inputs` give --model DIR with Pixtral-12B");
// else empty.
std::string demo_model_notice(const ModelSettings& s, const char* inputs);

// The model's name in outputs and reports: the folder's name ("pixtral-12b" for
// models/pixtral-12b/ too).
std::string model_display_name(const std::filesystem::path& dir);

// Throws Error(kMalformedModel) "<tokenizer>: ...; the tokenizer does not belong to this model"
// when `tok` has more tokens than the model's vocabulary or (with `images`) its [IMG] id is not
// the model's image token: checked before any weight is read.
void check_tokenizer_matches(const Tokenizer& tok, const ModelConfig& config, bool images = true);

}  // namespace framescribe::inference
