// The model and engine options of the commands that load a model, one registration for all
// (summarize, monitor, ask; batch reads them from its job file), and the layered settings.
//
//   ModelRequest req;
//   add_model_option(cmd, &req.model);            // -m/--model
//   add_engine_options(cmd, &req);                // --device, --load-format, -t/--threads
//   add_context_option(cmd, &req.context);        // --context
//   add_sampling_options(cmd, &sampling);         // --temperature, --top-p, --seed
//   add_step_tokens_option(cmd, &step_tokens);    // --step-tokens (monitor, batch)
//   add_approximate_reuse_option(cmd, &approx);   // --approximate-reuse (monitor, summarize)
//   ... after parsing:
//   note_given_options(*cmd, &req);
//   ModelSettings m = resolve_model_settings(req, &video, &max_tokens);
//
// Three layers: what the user gave wins, then the model folder's framescribe.json, then the
// commands' own defaults (1 frame per second, 512 px frames, 512 answer tokens). The folder and
// its framescribe.json are the inference module's (inference/model_folder.h); only the options
// and their application to VideoOptions are here. Not thread-safe (CLI11 objects).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/sampling.h"
#include "video_options.h"

namespace framescribe::apps {

// The model folder, its framescribe.json and the engine options: inference/model_folder.h.
using inference::check_tokenizer_matches;
using inference::engine_options;
using inference::EngineChoice;
using inference::kDefaultFps;
using inference::kDefaultMaxEdge;
using inference::kDefaultMaxTokens;
using inference::kDemoModelName;
using inference::load_config;
using inference::model_display_name;
using inference::ModelDefaults;
using inference::ModelRequest;
using inference::ModelSettings;
using inference::read_model_defaults;
using inference::resolve_model_dir;

// -m/--model: the model folder (default: $FRAMESCRIBE_MODEL, else the bundled demo model).
void add_model_option(CLI::App* cmd, std::string* model);
// --device and --load-format.
void add_engine_choice_options(CLI::App* cmd, EngineChoice* choice);
// --device, --load-format and -t/--threads (--engine-threads) into `r`.
void add_engine_options(CLI::App* cmd, ModelRequest* r);
// --context: context tokens to use (0: the model's).
void add_context_option(CLI::App* cmd, std::int64_t* context);
// --temperature, --top-p (in (0, 1]) and --seed, defaults shown.
void add_sampling_options(CLI::App* cmd, inference::SamplingParams* s);
// --step-tokens N (monitor, batch): how streams or parallel videos share the engine. N > 0 (the
// default, StepSchedulerOptions's): batched engine steps of at most N rows (continuous
// batching, where the device has a multi-sequence engine: the CPU); 0: one whole call at a
// time, as before issue 24. Answers are the same either way. See shared_engines.h.
void add_step_tokens_option(CLI::App* cmd, std::int64_t* step_tokens);
// --approximate-reuse (monitor, summarize; off by default): windows that slid keep the cached
// frames they share with the previous one, shifted in place (pixtral::PixtralWindowOptions::
// approximate_reuse). Answers may change; measured in inference/README.md "Approximate reuse".
void add_approximate_reuse_option(CLI::App* cmd, bool* on);

// Sets r's *_given flags from the options parsed on `cmd` (--fps, --every, --keyframes, --scene;
// --max-edge, --max-frame-tokens; --max-tokens), whichever of them it has.
void note_given_options(const CLI::App& cmd, ModelRequest* r);
// inference::resolve_model_settings, then fills what the user did not give: `video`'s sampling
// mode and size, `*max_tokens` (either may be null). Throws like it.
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

}  // namespace framescribe::apps
