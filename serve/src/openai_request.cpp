// The OpenAI request parser (openai_json.h's parse_chat_request): nlohmann-json, the contract
// types and ApiError only, so the fuzzer (tests/fuzz/openai_request_fuzzer.cpp) builds it alone.
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "framescribe/serve/openai_json.h"

namespace framescribe::serve {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 64;

// Refuses JSON nested deeper than kMaxDepth without parsing it (strings skipped).
void check_depth(std::string_view body) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth)
        throw ApiError(400, "the request body nests JSON deeper than " + std::to_string(kMaxDepth) +
                                " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

std::string short_number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

[[noreturn]] void wrong_type(const std::string& field, const char* expected, const json& v) {
  throw ApiError(400, field + " must be " + expected + ", not " + type_name(v), field);
}

// A present, non-null member, or nullptr.
const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const std::string& as_string(const json& v, const std::string& field) {
  if (!v.is_string()) wrong_type(field, "a string", v);
  return v.get_ref<const std::string&>();
}

std::int64_t as_int(const json& v, const std::string& field, std::int64_t lo, std::int64_t hi) {
  std::int64_t n = 0;
  if (v.is_number_integer()) {
    n = v.get<std::int64_t>();
  } else if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    n = u > static_cast<std::uint64_t>(hi) ? hi + 1 : static_cast<std::int64_t>(u);
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
             std::fabs(v.get<double>()) < 9e15) {
    n = static_cast<std::int64_t>(v.get<double>());
  } else {
    wrong_type(field, "an integer", v);
  }
  if (n < lo || n > hi)
    throw ApiError(400,
                   field + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", not " + std::to_string(n),
                   field);
  return n;
}

double as_number(const json& v, const std::string& field, double lo, double hi) {
  if (!v.is_number()) wrong_type(field, "a number", v);
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi))
    throw ApiError(400, field + " must be between " + short_number(lo) + " and " + short_number(hi),
                   field);
  return d;
}

bool as_bool(const json& v, const std::string& field) {
  if (!v.is_boolean()) wrong_type(field, "a boolean", v);
  return v.get<bool>();
}

RequestPart parse_media_part(const json& part, const std::string& where, const char* key,
                             RequestPart::Kind kind) {
  RequestPart p;
  p.kind = kind;
  p.where = where;
  const json* v = member(part, key);
  const std::string field = where + "." + key;
  if (!v) throw ApiError(400, where + ": a " + key + " part needs \"" + key + "\"", field);
  const json* opts = &part;
  if (v->is_string()) {
    p.source = v->get<std::string>();
  } else if (v->is_object()) {
    const json* url = member(*v, "url");
    if (!url) throw ApiError(400, field + ".url is required", field + ".url");
    p.source = as_string(*url, field + ".url");
    opts = v;
  } else {
    wrong_type(field, "an object with \"url\" or a string", *v);
  }
  if (p.source.empty()) throw ApiError(400, field + ": the url is empty", field);
  if (kind == RequestPart::Kind::kVideo) {
    // Sampling options may sit in the video_url object or beside it in the part.
    for (const json* o : {&part, opts}) {
      const std::string base = o == &part ? where : field;
      if (const json* f = member(*o, "fps")) p.video.fps = as_number(*f, base + ".fps", 0.001, 60);
      if (const json* f = member(*o, "max_frames"))
        p.video.max_frames = static_cast<int>(as_int(*f, base + ".max_frames", 1, 4096));
      if (const json* f = member(*o, "max_edge"))
        p.video.max_edge = static_cast<int>(as_int(*f, base + ".max_edge", 16, 4096));
    }
  }
  return p;
}

RequestMessage parse_message(const json& m, std::size_t index, int* parts_left) {
  RequestMessage msg;
  msg.where = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) wrong_type(msg.where, "an object", m);
  const json* role = member(m, "role");
  if (!role) throw ApiError(400, msg.where + ".role is required", msg.where + ".role");
  const std::string& r = as_string(*role, msg.where + ".role");
  if (r == "system" || r == "developer") {
    msg.role = RequestMessage::Role::kSystem;
  } else if (r == "user") {
    msg.role = RequestMessage::Role::kUser;
  } else if (r == "assistant") {
    msg.role = RequestMessage::Role::kAssistant;
  } else {
    throw ApiError(
        400,
        msg.where + ".role \"" + r + "\" is not supported (system, developer, user or assistant)",
        msg.where + ".role");
  }
  const json* content = member(m, "content");
  const std::string cfield = msg.where + ".content";
  if (!content) throw ApiError(400, cfield + " is required", cfield);
  if (content->is_string()) {
    if (--*parts_left < 0) throw ApiError(413, "too many content parts in the request", cfield);
    msg.parts.push_back({RequestPart::Kind::kText, content->get<std::string>(), {}, {}, cfield});
    return msg;
  }
  if (!content->is_array()) wrong_type(cfield, "a string or an array of parts", *content);
  for (std::size_t k = 0; k < content->size(); ++k) {
    if (--*parts_left < 0)
      throw ApiError(413, "too many content parts in the request (the limit is in ServeLimits)",
                     cfield);
    const json& part = (*content)[k];
    const std::string where = cfield + "[" + std::to_string(k) + "]";
    if (!part.is_object()) wrong_type(where, "an object", part);
    const json* type = member(part, "type");
    if (!type) throw ApiError(400, where + ".type is required", where + ".type");
    const std::string& t = as_string(*type, where + ".type");
    if (t == "text") {
      const json* text = member(part, "text");
      if (!text) throw ApiError(400, where + ".text is required", where + ".text");
      msg.parts.push_back(
          {RequestPart::Kind::kText, as_string(*text, where + ".text"), {}, {}, where});
    } else if (t == "image_url") {
      msg.parts.push_back(parse_media_part(part, where, "image_url", RequestPart::Kind::kImage));
    } else if (t == "video_url") {
      msg.parts.push_back(parse_media_part(part, where, "video_url", RequestPart::Kind::kVideo));
    } else {
      throw ApiError(400,
                     where + ": unknown part type \"" + t +
                         "\" (this server reads text, image_url and video_url)",
                     where + ".type");
    }
    if (msg.role != RequestMessage::Role::kUser &&
        msg.parts.back().kind != RequestPart::Kind::kText)
      throw ApiError(400, where + ": " + r + " messages may hold text only", where);
  }
  return msg;
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body, const ServeLimits& limits) {
  check_depth(body);
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) wrong_type("the request body", "a JSON object", j);
  ChatRequest r;
  if (const json* v = member(j, "model")) r.model = as_string(*v, "model");
  const json* messages = member(j, "messages");
  if (!messages) throw ApiError(400, "messages is required", "messages");
  if (!messages->is_array()) wrong_type("messages", "an array", *messages);
  if (messages->empty()) throw ApiError(400, "messages must not be empty", "messages");
  int parts_left = limits.max_parts;
  for (std::size_t i = 0; i < messages->size(); ++i)
    r.messages.push_back(parse_message((*messages)[i], i, &parts_left));
  if (const json* v = member(j, "max_tokens"))
    r.max_tokens = static_cast<int>(as_int(*v, "max_tokens", 1, 1 << 24));
  if (const json* v = member(j, "max_completion_tokens"))
    r.max_tokens = static_cast<int>(as_int(*v, "max_completion_tokens", 1, 1 << 24));
  if (const json* v = member(j, "temperature")) r.temperature = as_number(*v, "temperature", 0, 2);
  if (const json* v = member(j, "top_p")) r.top_p = as_number(*v, "top_p", 0, 1);
  if (const json* v = member(j, "seed"))
    r.seed = static_cast<std::uint64_t>(as_int(*v, "seed", std::numeric_limits<std::int64_t>::min(),
                                               std::numeric_limits<std::int64_t>::max()));
  if (const json* v = member(j, "stop")) {
    if (v->is_string()) {
      r.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (v->size() > 16) throw ApiError(400, "stop may hold at most 16 strings", "stop");
      for (std::size_t k = 0; k < v->size(); ++k)
        r.stop.push_back(as_string((*v)[k], "stop[" + std::to_string(k) + "]"));
    } else {
      wrong_type("stop", "a string or an array of strings", *v);
    }
    for (const std::string& s : r.stop)
      if (s.empty()) throw ApiError(400, "stop strings must not be empty", "stop");
  }
  if (const json* v = member(j, "n"); v && as_int(*v, "n", 1, 128) != 1)
    throw ApiError(400, "n must be 1: this server generates one answer per request", "n");
  if (const json* v = member(j, "logprobs")) r.logprobs = as_bool(*v, "logprobs");
  if (const json* v = member(j, "top_logprobs")) {
    r.top_logprobs = static_cast<int>(as_int(*v, "top_logprobs", 0, 20));
    if (!r.logprobs && r.top_logprobs > 0)
      throw ApiError(400, "top_logprobs needs logprobs: true", "top_logprobs");
  }
  if (const json* v = member(j, "stream")) r.stream = as_bool(*v, "stream");
  if (const json* v = member(j, "stream_options")) {
    if (!v->is_object()) wrong_type("stream_options", "an object", *v);
    if (!r.stream) throw ApiError(400, "stream_options needs stream: true", "stream_options");
    if (const json* u = member(*v, "include_usage"))
      r.include_usage = as_bool(*u, "stream_options.include_usage");
  }
  if (const json* v = member(j, "response_format")) {
    if (!v->is_object()) wrong_type("response_format", "an object", *v);
    const json* type = member(*v, "type");
    const std::string t = type ? as_string(*type, "response_format.type") : "";
    if (t != "text")
      throw ApiError(400,
                     "response_format \"" + t +
                         "\" is not supported: this server answers in free text only "
                         "(response_format {\"type\": \"text\"})",
                     "response_format");
  }
  if (const json* v = member(j, "tools"); v && !(v->is_array() && v->empty()))
    throw ApiError(400, "tools are not supported by this server", "tools");
  return r;
}

}  // namespace framescribe::serve
