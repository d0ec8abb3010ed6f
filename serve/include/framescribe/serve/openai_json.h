// The OpenAI dialect's JSON: /v1/chat/completions request bodies into ChatRequest, and the
// answers back: the chat.completion object, the chat.completion.chunk events of a stream, the
// model list and the error envelope.
//
//   ChatRequest req = parse_chat_request(body, limits);          // throws ApiError (400, 413)
//   ChatOutcome out = service.run(req);
//   std::string json = completion_json(out, req, tokenizer, "chatcmpl-1", created);
//   // streaming: SseWriter w{"chatcmpl-1", created, model}; w.role(); w.content(text, token);
//   //            w.finish(out); w.usage(out); then "data: [DONE]\n\n"
//   std::string err = error_json(ApiError(400, "bad", "messages"));
//
// Parsing rules: content is a string or a list of parts (text, image_url as an object with `url`
// or the short string form, `detail` ignored, video_url likewise with optional fps, max_frames,
// max_edge); max_completion_tokens wins over max_tokens; stop is a string or a list; n must be 1;
// top_logprobs 0..20 and only with logprobs; stream_options only with stream; response_format
// other than {"type": "text"} and non-empty tools are 400; unknown fields are ignored; null is
// the same as absent. Wrong types are 400 naming the field ("messages[0].content[1].image_url.url
// must be a string"); more parts than ServeLimits::max_parts is 413. JSON nested deeper than 64
// levels is refused before it is parsed.
//
// Pure functions, thread-safe. The JSON written is ASCII (ensure_ascii), invalid UTF-8 in model
// text is replaced, never an exception.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "framescribe/inference/chat.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/chat_request.h"
#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

ChatRequest parse_chat_request(std::string_view body, const ServeLimits& limits);

// {"error": {"message", "type", "param", "code"}}; code is the ApiError's code or the status.
std::string error_json(const ApiError& error);
// "stop" (end of sequence, stop string) or "length" (max tokens, context full); a cancelled
// answer is "stop" too (the client that asked for it is gone).
std::string finish_reason(inference::StopReason reason);

std::string completion_json(const ChatOutcome& out, const ChatRequest& request,
                            const inference::Tokenizer& tokenizer, const std::string& id,
                            std::int64_t created);

// The events of one streamed answer, each "data: {...}\n\n".
class SseWriter {
 public:
  SseWriter(std::string id, std::int64_t created, std::string model)
      : id_(std::move(id)), created_(created), model_(std::move(model)) {}
  std::string role() const;  // the first delta: {"role": "assistant", "content": ""}
  // A content delta; with `logprobs` (a token given), its logprobs entry.
  std::string content(std::string_view text, const inference::GeneratedToken* token,
                      const inference::Tokenizer* logprobs) const;
  std::string finish(inference::StopReason reason) const;
  std::string usage(const ChatOutcome& out) const;  // "choices": [] and usage
  static std::string error(const ApiError& e);      // data: {"error": {...}}
  static std::string done() { return "data: [DONE]\n\n"; }

 private:
  std::string id_;
  std::int64_t created_;
  std::string model_;
};

// GET /v1/models: {"object": "list", "data": [{"id", "object": "model", "created", "owned_by",
// "max_model_len", "root", "architecture": {"input_modalities": ["text", "image"]}}]}.
std::string models_json(const ModelHost& host);

}  // namespace framescribe::serve
