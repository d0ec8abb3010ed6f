#include "ollama_json.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "framescribe/core/base64.h"
#include "framescribe/serve/api_error.h"

namespace framescribe::serve::ollama {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, param + ": " + message, param);
}

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// A field that is absent or null counts as not given (Go's decoder, which Ollama uses, treats
// null as the zero value).
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string want_string(const json& v, const std::string& param) {
  if (!v.is_string()) bad(param, "must be a string, not " + type_name(v));
  return v.get<std::string>();
}

bool want_bool(const json& v, const std::string& param) {
  if (!v.is_boolean()) bad(param, "must be true or false, not " + type_name(v));
  return v.get<bool>();
}

double want_number(const json& v, const std::string& param) {
  if (!v.is_number()) bad(param, "must be a number, not " + type_name(v));
  return v.get<double>();
}

std::int64_t want_integer(const json& v, const std::string& param) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      bad(param, "is too large");
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<std::int64_t>(d);
  }
  bad(param, "must be an integer, not " + type_name(v));
}

void parse_options(const json& body, ChatRequest& r) {
  const json* opts = field(body, "options");
  if (!opts) return;
  if (!opts->is_object()) bad("options", "must be an object, not " + type_name(*opts));
  if (const json* v = field(*opts, "temperature")) {
    const double t = want_number(*v, "options.temperature");
    if (!(t >= 0 && t <= 100)) bad("options.temperature", "must be between 0 and 100");
    r.temperature = t;
  }
  if (const json* v = field(*opts, "top_p")) {
    const double p = want_number(*v, "options.top_p");
    if (!(p >= 0 && p <= 1)) bad("options.top_p", "must be between 0 and 1");
    r.top_p = p;
  }
  if (const json* v = field(*opts, "seed")) {
    const std::int64_t s = want_integer(*v, "options.seed");
    if (s < -1) bad("options.seed", "must be >= 0 (or -1: random)");
    if (s >= 0) r.seed = static_cast<std::uint64_t>(s);
  }
  if (const json* v = field(*opts, "num_predict")) {
    const std::int64_t n = want_integer(*v, "options.num_predict");
    if (n == 0 || n < -2)
      bad("options.num_predict", "must be >= 1, or -1/-2 for the server's limit");
    if (n > std::numeric_limits<int>::max()) bad("options.num_predict", "is too large");
    if (n > 0) r.max_tokens = static_cast<int>(n);
  }
  if (const json* v = field(*opts, "stop")) {
    std::vector<std::string> stops;
    if (v->is_string()) {
      stops.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (v->size() > 16) bad("options.stop", "at most 16 stop strings");
      for (std::size_t i = 0; i < v->size(); ++i)
        stops.push_back(want_string((*v)[i], "options.stop[" + std::to_string(i) + "]"));
    } else {
      bad("options.stop", "must be a string or a list of strings, not " + type_name(*v));
    }
    for (std::size_t i = 0; i < stops.size(); ++i)
      if (stops[i].empty()) bad("options.stop", "a stop string must not be empty");
    r.stop = std::move(stops);
  }
}

// Fields common to /api/chat and /api/generate.
void parse_common(const json& body, ChatRequest& r) {
  if (const json* v = field(body, "model")) r.model = want_string(*v, "model");
  if (r.model.empty()) throw ApiError(400, "model is required", "model");
  r.stream = true;
  if (const json* v = field(body, "stream")) r.stream = want_bool(*v, "stream");
  if (const json* v = field(body, "format")) {
    if (!(v->is_string() && v->get<std::string>().empty()))
      bad("format", "structured output (JSON mode or a schema) is not supported by this server");
  }
  if (const json* v = field(body, "think")) {
    if (!v->is_boolean()) bad("think", "must be true or false, not " + type_name(*v));
    if (v->get<bool>()) bad("think", "this model does not support thinking");
  }
  if (const json* v = field(body, "tools")) {
    if (!v->is_array()) bad("tools", "must be an array, not " + type_name(*v));
    if (!v->empty()) bad("tools", "this model does not support tools");
  }
  if (const json* v = field(body, "keep_alive")) {
    if (!v->is_string() && !v->is_number()) bad("keep_alive", "must be a duration or a number");
  }
  parse_options(body, r);
}

RequestPart image_part(const json& v, const std::string& where) {
  std::string data = want_string(v, where);
  if (data.empty()) bad(where, "an empty image");
  RequestPart p;
  p.kind = RequestPart::Kind::kImage;
  p.where = where;
  if (data.size() >= 5 && (data.compare(0, 5, "data:") == 0 || data.compare(0, 5, "DATA:") == 0)) {
    p.source = std::move(data);
  } else {
    p.source = "data:" + sniff_base64_image(data) + ";base64," + data;
  }
  return p;
}

// images of one message (or of /api/generate) as parts; counts them against the limits.
void add_images(const json& obj, const std::string& prefix, RequestMessage& msg, int& images,
                const ServeLimits& limits) {
  const json* v = field(obj, "images");
  if (!v) return;
  const std::string param = prefix.empty() ? "images" : prefix + ".images";
  if (!v->is_array()) bad(param, "must be a list of base64 strings, not " + type_name(*v));
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (++images > limits.max_images)
      throw ApiError(400,
                     param + ": more than " + std::to_string(limits.max_images) +
                         " images in one request (this server's limit)",
                     param);
    msg.parts.push_back(image_part((*v)[i], param + "[" + std::to_string(i) + "]"));
  }
}

RequestPart text_part(std::string text, const std::string& where) {
  RequestPart p;
  p.kind = RequestPart::Kind::kText;
  p.text = std::move(text);
  p.where = where;
  return p;
}

}  // namespace

json parse_body(std::string_view body, int max_depth) {
  json::parser_callback_t limit = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth)
      throw ApiError(400,
                     "the request body nests deeper than " + std::to_string(max_depth) + " levels");
    return true;
  };
  json j;
  try {
    j = json::parse(body.begin(), body.end(), limit);
  } catch (const json::exception& e) {
    // parse_error: "[json.exception.parse_error.101] parse error at line 1, column 2: ...";
    // out_of_range (406): "number overflow parsing '2e308'" (found by serve_request_fuzzer).
    std::string what = e.what();
    auto at = what.find("] ");
    at = at == std::string::npos ? at : at + 2;
    throw ApiError(400, "the request body is not valid JSON: " +
                            (at == std::string::npos ? what : what.substr(at)));
  }
  if (!j.is_object())
    throw ApiError(400, "the request body must be a JSON object, not " + type_name(j));
  return j;
}

OllamaChat parse_chat(std::string_view body_text, const ServeLimits& limits) {
  const json body = parse_body(body_text);
  OllamaChat out;
  ChatRequest& r = out.request;
  parse_common(body, r);
  const json* msgs = field(body, "messages");
  if (!msgs || msgs->empty()) {
    if (msgs && !msgs->is_array()) bad("messages", "must be a list, not " + type_name(*msgs));
    out.load_only = true;
    return out;
  }
  if (!msgs->is_array()) bad("messages", "must be a list, not " + type_name(*msgs));
  if (msgs->size() > static_cast<std::size_t>(limits.max_parts))
    bad("messages", "more than " + std::to_string(limits.max_parts) +
                        " messages in one request (this server's limit)");
  int images = 0, parts = 0;
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = (*msgs)[i];
    if (!m.is_object()) bad(where, "must be an object, not " + type_name(m));
    RequestMessage msg;
    msg.where = where;
    const json* role = field(m, "role");
    if (!role) bad(where + ".role", "is required");
    const std::string role_name = want_string(*role, where + ".role");
    if (role_name == "user") {
      msg.role = RequestMessage::Role::kUser;
    } else if (role_name == "system") {
      msg.role = RequestMessage::Role::kSystem;
    } else if (role_name == "assistant") {
      msg.role = RequestMessage::Role::kAssistant;
    } else if (role_name == "tool") {
      bad(where + ".role", "\"tool\" messages are not supported (this model has no tools)");
    } else {
      bad(where + ".role", "\"" + role_name + "\" is not one of system, user, assistant");
    }
    if (const json* tc = field(m, "tool_calls"); tc && !(tc->is_array() && tc->empty()))
      bad(where + ".tool_calls", "tool calls are not supported");
    if (msg.role == RequestMessage::Role::kUser) {
      add_images(m, where, msg, images, limits);
    } else if (const json* im = field(m, "images"); im && !(im->is_array() && im->empty())) {
      bad(where + ".images", "only user messages may carry images");
    }
    std::string content;
    if (const json* c = field(m, "content")) content = want_string(*c, where + ".content");
    if (!content.empty() || msg.parts.empty())
      msg.parts.push_back(text_part(std::move(content), where + ".content"));
    parts += static_cast<int>(msg.parts.size());
    if (parts > limits.max_parts)
      bad(where, "more than " + std::to_string(limits.max_parts) +
                     " parts (texts and images) in one request (this server's limit)");
    r.messages.push_back(std::move(msg));
  }
  return out;
}

OllamaChat parse_generate(std::string_view body_text, const ServeLimits& limits) {
  const json body = parse_body(body_text);
  OllamaChat out;
  ChatRequest& r = out.request;
  parse_common(body, r);
  if (const json* v = field(body, "raw"); v && want_bool(*v, "raw"))
    bad("raw", "raw prompts are not supported (the server builds Pixtral's prompt)");
  if (const json* v = field(body, "suffix"); v && !want_string(*v, "suffix").empty())
    bad("suffix", "this model does not support insert (suffix)");
  if (const json* v = field(body, "context")) {
    if (!v->is_array()) bad("context", "must be a list of token ids, not " + type_name(*v));
    if (!v->empty())
      bad("context",
          "continuing from a previous answer's context is not supported; send the "
          "conversation to /api/chat instead");
  }
  if (const json* v = field(body, "template")) want_string(*v, "template");  // accepted, unused
  std::string system, prompt;
  if (const json* v = field(body, "system")) system = want_string(*v, "system");
  if (const json* v = field(body, "prompt")) prompt = want_string(*v, "prompt");
  RequestMessage user;
  user.role = RequestMessage::Role::kUser;
  user.where = "prompt";
  int images = 0;
  add_images(body, "", user, images, limits);
  if (prompt.empty() && user.parts.empty()) {
    out.load_only = true;
    return out;
  }
  if (!prompt.empty() || user.parts.empty()) user.parts.push_back(text_part(prompt, "prompt"));
  if (static_cast<int>(user.parts.size()) + 1 > limits.max_parts)
    bad("images", "more than " + std::to_string(limits.max_parts) +
                      " parts in one request (this server's limit)");
  if (!system.empty()) {
    RequestMessage sys;
    sys.role = RequestMessage::Role::kSystem;
    sys.where = "system";
    sys.parts.push_back(text_part(system, "system"));
    r.messages.push_back(std::move(sys));
  }
  r.messages.push_back(std::move(user));
  return out;
}

std::string parse_show(std::string_view body_text) {
  const json body = parse_body(body_text);
  std::string name;
  if (const json* v = field(body, "model")) name = want_string(*v, "model");
  if (name.empty()) {
    if (const json* v = field(body, "name")) name = want_string(*v, "name");
  }
  if (name.empty()) throw ApiError(400, "model is required", "model");
  if (const json* v = field(body, "verbose")) want_bool(*v, "verbose");
  return name;
}

bool names_model(std::string_view requested, std::string_view served) {
  if (requested == served) return true;
  constexpr std::string_view kLatest = ":latest";
  return requested.size() == served.size() + kLatest.size() &&
         requested.substr(0, served.size()) == served && requested.substr(served.size()) == kLatest;
}

std::string tagged(std::string_view served) {
  return std::string(served) + ":latest";
}

std::string sniff_base64_image(std::string_view base64) {
  // 16 characters decode to the 12 bytes every signature below fits in.
  std::string head;
  for (char c : base64) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    head.push_back(c);
    if (head.size() == 16) break;
  }
  std::vector<std::uint8_t> b;
  try {
    if (head.size() == 16 && head.find('=') == std::string::npos)
      b = core::decode_base64(head, "image");
  } catch (const std::exception&) {
    b.clear();  // not base64: the decoder says so where it decodes the whole image
  }
  auto starts = [&](std::initializer_list<int> sig, std::size_t at = 0) {
    if (b.size() < at + sig.size()) return false;
    std::size_t i = at;
    for (int s : sig)
      if (b[i++] != static_cast<std::uint8_t>(s)) return false;
    return true;
  };
  if (starts({0x89, 'P', 'N', 'G'})) return "image/png";
  if (starts({0xFF, 0xD8, 0xFF})) return "image/jpeg";
  if (starts({'G', 'I', 'F', '8'})) return "image/gif";
  if (starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8)) return "image/webp";
  if (starts({'B', 'M'})) return "image/bmp";
  if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return "image/tiff";
  return "image/unknown";
}

std::string parameter_size(std::int64_t n) {
  char buf[32];
  const double d = static_cast<double>(n);
  if (n >= 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fB", d / 1e9);
  } else if (n >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fM", d / 1e6);
  } else if (n >= 1'000) {
    std::snprintf(buf, sizeof buf, "%.1fK", d / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  }
  return buf;
}

namespace {
json details(const ModelFacts& m) {
  return {{"parent_model", ""},
          {"format", m.format},
          {"family", "pixtral"},
          {"families", json::array({"pixtral"})},
          {"parameter_size", parameter_size(m.parameters)},
          {"quantization_level", m.quantization}};
}
}  // namespace

json tags(const ModelFacts& m) {
  const std::string name = tagged(m.name);
  json model = {{"name", name},
                {"model", name},
                {"modified_at", created_at(m.modified_unix_s * 1'000'000'000)},
                {"size", m.size_bytes},
                {"digest", m.digest},
                {"details", details(m)}};
  return {{"models", json::array({model})}};
}

json show(const ModelFacts& m) {
  json info = {{"general.architecture", "pixtral"},
               {"general.basename", m.name},
               {"general.parameter_count", m.parameters},
               {"pixtral.context_length", m.context_tokens},
               {"pixtral.embedding_length", m.embedding_length},
               {"pixtral.block_count", m.block_count},
               {"pixtral.attention.head_count", m.head_count},
               {"pixtral.vocab_size", m.vocab_size}};
  return {{"modelfile", "# served by framescribe: FROM " + tagged(m.name) + "\n"},
          {"parameters", ""},
          {"template", ""},
          {"license", ""},
          {"details", details(m)},
          {"model_info", info},
          {"capabilities", json::array({"completion", "vision"})},
          {"modified_at", created_at(m.modified_unix_s * 1'000'000'000)}};
}

json version(std::string_view v) {
  return {{"version", v}};
}

Durations durations(const inference::ChatResult& result, double total_ms) {
  Durations d;
  d.total_ms = total_ms;
  d.prompt_eval_ms = result.timings.vision_ms + result.timings.prefill_ms;
  d.eval_ms = result.timings.decode_ms;
  return d;
}

std::string done_reason(inference::StopReason reason) {
  switch (reason) {
    case inference::StopReason::kEos:
    case inference::StopReason::kStopString:
      return "stop";
    case inference::StopReason::kMaxTokens:
    case inference::StopReason::kContextFull:
      return "length";
    case inference::StopReason::kCallback:
      return "cancel";
  }
  return "stop";
}

namespace {
std::int64_t ns(double ms) {
  return ms > 0 ? static_cast<std::int64_t>(std::llround(ms * 1e6)) : 0;
}

void add_stats(json& j, const inference::ChatResult& r, const Durations& d) {
  j["done"] = true;
  j["done_reason"] = done_reason(r.stop_reason);
  j["total_duration"] = ns(d.total_ms);
  j["load_duration"] = 0;
  j["prompt_eval_count"] = r.usage.prompt_tokens;
  j["prompt_eval_duration"] = ns(d.prompt_eval_ms);
  j["eval_count"] = r.usage.completion_tokens;
  j["eval_duration"] = ns(d.eval_ms);
}

json message(std::string_view text) {
  return {{"role", "assistant"}, {"content", text}};
}
}  // namespace

json chat_piece(std::string_view model, std::string_view text) {
  return {{"model", model},
          {"created_at", created_at_now()},
          {"message", message(text)},
          {"done", false}};
}

json generate_piece(std::string_view model, std::string_view text) {
  return {{"model", model}, {"created_at", created_at_now()}, {"response", text}, {"done", false}};
}

json chat_done(std::string_view model, std::string_view text, const inference::ChatResult& r,
               const Durations& d) {
  json j = {{"model", model}, {"created_at", created_at_now()}, {"message", message(text)}};
  add_stats(j, r, d);
  return j;
}

json generate_done(std::string_view model, std::string_view text, const inference::ChatResult& r,
                   const Durations& d) {
  json j = {{"model", model}, {"created_at", created_at_now()}, {"response", text}};
  add_stats(j, r, d);
  return j;
}

json chat_load(std::string_view model) {
  return {{"model", model},
          {"created_at", created_at_now()},
          {"message", message("")},
          {"done", true},
          {"done_reason", "load"}};
}

json generate_load(std::string_view model) {
  return {{"model", model},
          {"created_at", created_at_now()},
          {"response", ""},
          {"done", true},
          {"done_reason", "load"}};
}

json error(std::string_view message) {
  return {{"error", message}};
}

std::string created_at(std::int64_t unix_ns) {
  std::int64_t s = unix_ns / 1'000'000'000, frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --s;
  }
  const time_t t = static_cast<time_t>(s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string created_at_now() {
  return created_at(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
}

}  // namespace framescribe::serve::ollama
