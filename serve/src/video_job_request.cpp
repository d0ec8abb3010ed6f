// POST /v1/videos/summaries: the request's fields, checked one by one (each error names its
// field), into the options summarize would have for the same command line.
#include <cmath>
#include <set>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/sinks/sinks.h"
#include "video_job.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::ordered_json;

const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const json& object_or_empty(const json& obj, const char* key) {
  static const json empty = json::object();
  const json* v = member(obj, key);
  if (v == nullptr) return empty;
  if (!v->is_object()) throw ApiError(400, std::string(key) + " must be an object", key);
  return *v;
}

double number(const json& obj, const char* key, const std::string& path, double lo, double hi,
              double fallback) {
  const json* v = member(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < lo ||
      v->get<double>() > hi) {
    std::ostringstream m;
    m << path << " must be a number from " << lo << " to " << hi;
    throw ApiError(400, m.str(), path);
  }
  return v->get<double>();
}

std::int64_t integer(const json& obj, const char* key, const std::string& path, std::int64_t lo,
                     std::int64_t hi, std::int64_t fallback) {
  const json* v = member(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer() || v->get<std::int64_t>() < lo || v->get<std::int64_t>() > hi)
    throw ApiError(
        400,
        path + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
        path);
  return v->get<std::int64_t>();
}

std::string text(const json& obj, const char* key, const std::string& path) {
  const json* v = member(obj, key);
  if (v == nullptr) return {};
  if (!v->is_string()) throw ApiError(400, path + " must be a string", path);
  if (v->get_ref<const std::string&>().size() > (1u << 16))
    throw ApiError(400, path + " is longer than 65536 bytes", path);
  return v->get<std::string>();
}

bool flag(const json& obj, const char* key, const std::string& path, bool fallback) {
  const json* v = member(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw ApiError(400, path + " must be true or false", path);
  return v->get<bool>();
}

std::int64_t to_ns(double seconds) {
  return std::llround(seconds * 1e9);
}

std::vector<std::string> formats(const json& body) {
  const json* v = member(body, "formats");
  std::vector<std::string> out;
  try {
    if (v == nullptr) {
      out = sinks::parse_formats("jsonl,srt,vtt,md,html");
    } else if (v->is_string()) {
      out = sinks::parse_formats(v->get<std::string>());
    } else if (v->is_array() && !v->empty() && v->size() <= 16) {
      std::string list;
      for (const json& f : *v) {
        if (!f.is_string()) throw ApiError(400, "formats must hold strings", "formats");
        list += (list.empty() ? "" : ",") + f.get<std::string>();
      }
      out = sinks::parse_formats(list);
    } else {
      throw ApiError(400, "formats must be a list of names or a comma-separated string", "formats");
    }
  } catch (const Error& e) {
    throw ApiError(400, std::string("formats: ") + e.what(), "formats");
  }
  for (const std::string& f : out)
    if (f == "console")
      throw ApiError(400, "formats: console is not a file; give jsonl, srt, vtt, md or html",
                     "formats");
  return out;
}

}  // namespace

ParsedJob parse_job_request(std::string_view body_text, const ModelHost& host) {
  json body;
  try {
    body = json::parse(body_text);
  } catch (const std::exception& e) {
    throw ApiError(400, std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) throw ApiError(400, "the body must be a JSON object");
  ParsedJob p;
  const json* src = member(body, "source");
  if (src == nullptr || !src->is_string() || src->get_ref<const std::string&>().empty())
    throw ApiError(400, "source is required: a path, an http(s) URL, a data URI or upload:ID",
                   "source");
  p.source = src->get<std::string>();

  // Sampling: summarize's options; the model's fps and size when none is given.
  const json& s = object_or_empty(body, "sampling");
  decoder::SamplingOptions& sm = p.video.sampling;
  const bool has_fps = member(s, "fps") != nullptr, has_every = member(s, "every") != nullptr;
  if (has_fps && has_every)
    throw ApiError(400, "sampling: give fps or every, not both", "sampling.every");
  if (has_every) {
    sm.mode = decoder::SamplingMode::kEveryNth;
    sm.every_n = integer(s, "every", "sampling.every", 1, 1'000'000, 1);
  } else {
    sm.mode = decoder::SamplingMode::kFixedRate;
    sm.fps = number(s, "fps", "sampling.fps", 1e-6, 1000, host.default_fps);
    p.video.source.sample_fps = sm.fps;
  }
  sm.max_frames = integer(s, "max_frames", "sampling.max_frames", 0, 1'000'000'000, 0);
  const double start = number(s, "start", "sampling.start", 0, 1e9, 0);
  sm.start_ns = to_ns(start);
  p.video.source.start_ns = sm.start_ns;
  if (member(s, "end") != nullptr) sm.end_ns = to_ns(number(s, "end", "sampling.end", 0, 1e9, 0));
  sm.max_gap_ns = to_ns(number(s, "max_gap", "sampling.max_gap", 0, 1e6, 0));
  const int patch = host.config.vision.patch_px > 0 ? host.config.vision.patch_px : 16;
  const int cap = host.config.vision.image_size_px > 0 ? host.config.vision.image_size_px : 1024;
  const auto edge = integer(s, "max_edge", "sampling.max_edge", patch, cap, host.default_max_edge);
  if (edge % patch != 0)
    throw ApiError(400, "sampling.max_edge must be a multiple of " + std::to_string(patch),
                   "sampling.max_edge");
  p.video.sizing.longest_edge_px = static_cast<int>(edge);
  p.video.sizing.patch_px = patch;

  // Packing and prompts: summarize's --window-seconds ... --summary-prompt.
  const json& k = object_or_empty(body, "packing");
  const json& pr = object_or_empty(body, "prompts");
  pipeline::PipelineOptions& po = p.video.pipeline;
  const auto max_tokens =
      integer(body, "max_tokens", "max_tokens", 1, 1 << 20, host.default_max_tokens);
  po.packing.context_tokens = integer(k, "context", "packing.context", 0, 1ll << 30, 0);
  po.packing.answer_reserve_tokens = max_tokens;
  po.packing.window_ns = to_ns(number(k, "window_seconds", "packing.window_seconds", 0, 1e9, 0));
  po.packing.max_frames_per_window =
      integer(k, "max_frames_per_window", "packing.max_frames_per_window", 0, 1'000'000, 0);
  po.packing.overlap_ns = to_ns(number(k, "overlap", "packing.overlap", 0, 1e9, 0));
  po.carry_previous = flag(k, "carry_previous", "packing.carry_previous", false);
  const auto carry = integer(k, "carry_tokens", "packing.carry_tokens", 0, 1 << 20, 256);
  po.packing.carry_tokens = po.carry_previous ? carry : 0;
  po.packing.prompt_template = text(pr, "instruction", "prompts.instruction");
  po.summary_template = text(pr, "summary", "prompts.summary");
  po.summary = flag(body, "summary", "summary", true);
  p.window.system = text(pr, "system", "prompts.system");
  p.window.max_answer_tokens = static_cast<int>(max_tokens);
  p.window.sampling.temperature =
      static_cast<float>(number(body, "temperature", "temperature", 0, 10, 0));
  p.window.sampling.top_p = static_cast<float>(number(body, "top_p", "top_p", 0, 1, 1));
  p.window.sampling.seed =
      static_cast<std::uint64_t>(integer(body, "seed", "seed", 0, INT64_MAX, 0));
  p.window.context_tokens = po.packing.context_tokens;
  p.video.formats = formats(body);
  try {
    decoder::validate(sm);
    pipeline::validate(po.packing);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  p.echo = {{"source", nullptr},
            {"sampling", {{"mode", decoder::describe(sm)}, {"max_edge", edge}}},
            {"max_tokens", max_tokens},
            {"formats", p.video.formats}};
  return p;
}

}  // namespace framescribe::serve
