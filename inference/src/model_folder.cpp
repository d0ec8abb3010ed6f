#include "framescribe/inference/model_folder.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::inference {

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

EngineOptions engine_options(const EngineChoice& choice) {
  FS_CHECK(choice.device == "cpu" || choice.device == "cuda", kInvalidArgument,
           "--device must be cpu or cuda, got '" << choice.device << "'");
  FS_CHECK(choice.load_format == "checkpoint" || choice.load_format == "dummy", kInvalidArgument,
           "--load-format must be checkpoint or dummy, got '" << choice.load_format << "'");
  EngineOptions eo;
  eo.device = choice.device == "cuda" ? Device::kCuda : Device::kCpu;
  if (choice.load_format == "dummy") {
    eo.load_format = LoadFormat::kDummy;
    FS_LOG_WARN(
        "--load-format dummy: random weights; the text below is meaningless "
        "(for speed and memory checks)");
  }
  return eo;
}

ModelConfig load_config(const std::string& model_dir, const EngineChoice& choice) {
  return load_model_config(
      model_dir, choice.load_format == "dummy" ? WeightFile::kOptional : WeightFile::kRequired);
}

ModelSettings resolve_model_settings(const ModelRequest& r) {
  ModelSettings s;
  try {
    s.dir = resolve_model_dir(r.model, &s.is_demo);
    s.recommended = read_model_defaults(s.dir);
  } catch (const Error& e) {
    if (r.model_required || e.code() != ErrorCode::kNotFound) throw;
  }
  s.engine = engine_options(r.engine);
  s.engine.n_threads = r.threads;
  s.engine.max_context_tokens = r.context;
  return s;
}

std::string model_display_name(const fs::path& dir) {
  return dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
}

void check_tokenizer_matches(const Tokenizer& tok, const ModelConfig& config, bool images) {
  FS_CHECK(tok.vocab_size() <= config.text.n_vocab, kMalformedModel,
           tok.source() << ": " << tok.vocab_size()
                        << " tokens, more than the model's vocabulary of " << config.text.n_vocab
                        << " (" << config.config_path.string()
                        << "); the tokenizer does not belong to this model");
  FS_CHECK(!images || tok.img() == config.image_token_id, kMalformedModel,
           tok.source() << ": [IMG] is id " << tok.img() << " but " << config.config_path.string()
                        << " says " << config.image_token_id
                        << "; the tokenizer does not belong to this model");
}

std::string demo_model_notice(const ModelSettings& s, const char* inputs) {
  if (!s.is_demo) return {};
  return "framescribe: no --model given: using the bundled demo model " + s.dir.string() +
         "\n             (" +
         (s.recommended.about.empty() ? "it knows only a synthetic world of moving shapes"
                                      : s.recommended.about) +
         ")\n             For real " + inputs +
         " give --model DIR with Pixtral-12B (mistral-community/pixtral-12b or "
         "mistralai/Pixtral-12B-2409).\n";
}

}  // namespace framescribe::inference
