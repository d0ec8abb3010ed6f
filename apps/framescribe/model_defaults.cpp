#include "model_defaults.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"

namespace framescribe::apps {

namespace fs = std::filesystem;

ModelDefaults read_model_defaults(const fs::path& dir) {
  ModelDefaults d;
  const fs::path file = dir / "framescribe.json";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return d;
  std::ifstream in(file, std::ios::binary);
  FS_CHECK(in.good(), kIo, file.string() << ": cannot read it");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    FS_FAIL(kInvalidArgument, file.string() << ": not valid JSON (" << e.what() << ")");
  }
  FS_CHECK(j.is_object(), kInvalidArgument, file.string() << ": expected a JSON object");
  if (j.contains("fps")) {
    const auto& v = j["fps"];
    FS_CHECK(v.is_number() && v.get<double>() > 0 && std::isfinite(v.get<double>()),
             kInvalidArgument, file.string() << ": \"fps\" must be a positive number");
    d.fps = v.get<double>();
  }
  if (j.contains("max_edge")) {
    const auto& v = j["max_edge"];
    FS_CHECK(v.is_number_integer() && v.get<long long>() >= 16 && v.get<long long>() <= 1024 &&
                 v.get<long long>() % 16 == 0,
             kInvalidArgument,
             file.string() << ": \"max_edge\" must be a multiple of 16 from 16 to 1024");
    d.max_edge = v.get<int>();
  }
  if (j.contains("max_tokens")) {
    const auto& v = j["max_tokens"];
    FS_CHECK(v.is_number_integer() && v.get<long long>() > 0 && v.get<long long>() <= 131072,
             kInvalidArgument, file.string() << ": \"max_tokens\" must be a positive integer");
    d.max_tokens = v.get<int>();
  }
  if (j.contains("about")) {
    FS_CHECK(j["about"].is_string(), kInvalidArgument,
             file.string() << ": \"about\" must be a string");
    d.about = j["about"].get<std::string>();
  }
  return d;
}

namespace {

fs::path executable_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

bool is_model_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec) ||
         fs::is_regular_file(dir / "params.json", ec);
}

}  // namespace

fs::path resolve_model_dir(const std::string& given, bool* is_demo) {
  if (is_demo) *is_demo = false;
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FRAMESCRIBE_MODEL"); env != nullptr && *env != '\0')
    return env;
  std::vector<fs::path> candidates;
  const fs::path exe = executable_dir();
  if (!exe.empty()) {
    candidates.push_back(exe / ".." / "share" / "framescribe" / "models" / kDemoModelName);
  }
#ifdef FRAMESCRIBE_SOURCE_DIR
  candidates.push_back(fs::path(FRAMESCRIBE_SOURCE_DIR) / "samples" / "models" / kDemoModelName);
#endif
  for (const fs::path& c : candidates) {
    if (is_model_dir(c)) {
      if (is_demo) *is_demo = true;
      return c.lexically_normal();
    }
  }
  FS_FAIL(kNotFound,
          "no --model given, $FRAMESCRIBE_MODEL is not set and the bundled demo model "
          "(samples/models/"
              << kDemoModelName
              << ") was not found; give --model DIR, e.g. a download of "
                 "mistral-community/pixtral-12b");
}

void add_engine_choice_options(CLI::App* cmd, EngineChoice* choice) {
  cmd->add_option("--device", choice->device, "Engine: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--load-format", choice->load_format,
                  "checkpoint, or dummy: random weights of the model's sizes, only its config "
                  "and tokenizer are read (speed and memory checks; the text is meaningless)")
      ->check(CLI::IsMember({"checkpoint", "dummy"}))
      ->capture_default_str();
}

inference::EngineOptions engine_options(const EngineChoice& choice) {
  FS_CHECK(choice.device == "cpu" || choice.device == "cuda", kInvalidArgument,
           "--device must be cpu or cuda, got '" << choice.device << "'");
  FS_CHECK(choice.load_format == "checkpoint" || choice.load_format == "dummy", kInvalidArgument,
           "--load-format must be checkpoint or dummy, got '" << choice.load_format << "'");
  inference::EngineOptions eo;
  eo.device = choice.device == "cuda" ? inference::Device::kCuda : inference::Device::kCpu;
  if (choice.load_format == "dummy") {
    eo.load_format = inference::LoadFormat::kDummy;
    FS_LOG_WARN(
        "--load-format dummy: random weights; the text below is meaningless "
        "(for speed and memory checks)");
  }
  return eo;
}

inference::ModelConfig load_config(const std::string& model_dir, const EngineChoice& choice) {
  return inference::load_model_config(model_dir, choice.load_format == "dummy"
                                                     ? inference::WeightFile::kOptional
                                                     : inference::WeightFile::kRequired);
}

void note_given_options(const CLI::App& cmd, ModelRequest* r) {
  const auto given = [&cmd](const char* name) {
    const CLI::Option* o = cmd.get_option_no_throw(name);
    return o != nullptr && o->count() > 0;
  };
  for (const char* name : {"--fps", "--every", "--keyframes", "--scene"})
    r->sampling_given |= given(name);
  for (const char* name : {"--max-edge", "--max-frame-tokens"}) r->size_given |= given(name);
  r->max_tokens_given |= given("--max-tokens");
}

ModelSettings resolve_model_settings(const ModelRequest& r, VideoOptions* video, int* max_tokens) {
  ModelSettings s;
  try {
    s.dir = resolve_model_dir(r.model, &s.is_demo);
    s.recommended = read_model_defaults(s.dir);
  } catch (const Error& e) {
    if (r.model_required || e.code() != ErrorCode::kNotFound) throw;
  }
  if (video != nullptr && !r.sampling_given) {
    // The model's rate, else one frame per second: the other modes are the user's choice only.
    video->fps = s.recommended.fps.value_or(kDefaultFps);
    video->every = 0;
    video->keyframes = false;
    video->scene = -1;
  }
  if (video != nullptr && !r.size_given) {
    video->max_edge_px = s.recommended.max_edge.value_or(kDefaultMaxEdge);
    video->max_frame_tokens = 0;
  }
  if (max_tokens != nullptr && !r.max_tokens_given)
    *max_tokens = s.recommended.max_tokens.value_or(kDefaultMaxTokens);
  s.engine = engine_options(r.engine);
  s.engine.n_threads = r.threads;
  s.engine.max_context_tokens = r.context;
  return s;
}

void add_planning_model_option(CLI::App* cmd, std::string* model) {
  cmd->add_option("-m,--model", *model,
                  "Plan with this model's recommended settings (framescribe.json), as summarize "
                  "does; default: $FRAMESCRIBE_MODEL, else the bundled demo model")
      ->check(CLI::ExistingDirectory);
}

PlannedSampling planned_sampling(const CLI::App& cmd, const std::string& model,
                                 VideoOptions* video) {
  decoder::route_ffmpeg_logs(core::log_level() == core::LogLevel::kDebug);
  ModelRequest r;
  r.model = model;
  r.model_required = !model.empty();
  note_given_options(cmd, &r);
  (void)resolve_model_settings(r, video, nullptr);
  PlannedSampling p;
  check_usage([&] {
    p.sampling = video->sampling();
    p.sizing = video->sizing();
  });
  return p;
}

void print_demo_model_notice(const ModelSettings& s, const char* inputs) {
  if (!s.is_demo || core::log_level() >= core::LogLevel::kError) return;  // -q: errors only
  std::fprintf(stderr,
               "framescribe: no --model given: using the bundled demo model %s\n"
               "             (%s)\n"
               "             For real %s give --model DIR with Pixtral-12B "
               "(mistral-community/pixtral-12b or mistralai/Pixtral-12B-2409).\n",
               s.dir.c_str(),
               s.recommended.about.empty() ? "it knows only a synthetic world of moving shapes"
                                           : s.recommended.about.c_str(),
               inputs);
}

std::string model_display_name(const fs::path& dir) {
  return dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
}

}  // namespace framescribe::apps
