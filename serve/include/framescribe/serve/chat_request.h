// A chat request as the server runs it, whichever dialect it came in (OpenAI Chat Completions,
// Ollama /api/chat or /api/generate): messages of text, image and video parts, and the options of
// one answer. openai_json.h and ollama_json.h parse into it; ChatService (chat_service.h) runs it.
//
// Parts name their media by source, not by pixels: the service resolves them (data URIs, http(s)
// URLs with the still-image limits, local paths only under --allow-path) when the request runs,
// so a parser never touches the network or the disk.
//
// `where` is the request path of the part ("messages[1].content[2]", "images[0]") so that every
// error about it names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace framescribe::serve {

struct VideoPartOptions {         // a framescribe extension: how a video part is sampled
  std::optional<double> fps;      // frames per second sampled (default: the server's)
  std::optional<int> max_frames;  // at most this many frames, spread over the clip
  std::optional<int> max_edge;    // longest frame edge in pixels (multiple of 16)
};

struct RequestPart {
  enum class Kind { kText, kImage, kVideo };
  Kind kind = Kind::kText;
  std::string text;        // kText
  std::string source;      // kImage/kVideo: "data:...;base64,...", "http(s)://...", or a local path
  VideoPartOptions video;  // kVideo
  std::string where;       // "messages[1].content[2]"
};

struct RequestMessage {
  enum class Role { kSystem, kUser, kAssistant };
  Role role = Role::kUser;
  std::vector<RequestPart> parts;  // system and assistant: text parts only (checked by parsers)
  std::string where;               // "messages[1]"
};

struct ChatRequest {
  std::string model;  // as the client named it (checked against the served model's names)
  std::vector<RequestMessage> messages;
  std::optional<int> max_tokens;      // nullopt: the server's default
  std::optional<double> temperature;  // nullopt: the server's default
  std::optional<double> top_p;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;  // stop strings
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  bool logprobs = false;
  int top_logprobs = 0;  // 0..20
};

}  // namespace framescribe::serve
