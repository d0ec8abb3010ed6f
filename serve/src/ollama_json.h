// The Ollama dialect of the API, as JSON in and out (no sockets, no engine): request bodies of
// POST /api/chat and POST /api/generate become a ChatRequest; results, stream lines, the model
// list (/api/tags), the model card (/api/show), the version and errors become Ollama's JSON.
// ollama_routes.cpp puts them on the server; tests/serve/ollama_json_test.cpp checks each.
//
//   OllamaChat c = ollama::parse_chat(body, limits);       // throws ApiError (400) on bad input
//   c.request.stream;                                       // Ollama's default: true
//   line = ollama::chat_piece(model, "A blue").dump() + "\n";             // one NDJSON line
//   last = ollama::chat_done(model, "", outcome.result, timings).dump();  // done: true + stats
//
// Rules (Ollama's API, docs/api.md of ollama/ollama):
// - `images` are raw base64 (a data: URI is accepted too); each becomes an image part placed
//   before the message's text, as Ollama places them. The media type of the data URI made from
//   it is sniffed from the first bytes (PNG, JPEG, GIF, WebP, BMP, TIFF; else image/unknown, and
//   the decoder decides). Base64 is fully checked where the image is decoded (ChatService).
// - `options`: temperature, top_p, seed, num_predict (-1 and -2: the server's default limit),
//   stop (a string or a list) are used; every other option (top_k, num_ctx, ...) and
//   keep_alive are accepted and ignored. `stream` absent or null: true.
// - Refused with 400 and a message naming the field: `format` (JSON mode is not implemented),
//   `tools`, `think: true`, `raw: true`, `suffix`, a non-empty `context`, role "tool", images on a
//   system or assistant message, wrong JSON types, nesting deeper than 64, more images than
//   ServeLimits::max_images or messages than ServeLimits::max_parts.
// - An empty /api/generate prompt without images, or /api/chat with no messages, only "loads the
//   model": `load_only` is set and the answer is chat_load()/generate_load() (done_reason "load").
// - Durations in the last line are nanoseconds: total (the whole request), load (0: the model is
//   loaded when the server starts), prompt_eval (vision + prefill), eval (decoding).
// Thread-safety: pure functions. Errors: ApiError (api_error.h), status 400, `param` set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "framescribe/inference/chat.h"
#include "framescribe/serve/chat_request.h"
#include "framescribe/serve/chat_service.h"

namespace framescribe::serve::ollama {

struct OllamaChat {
  ChatRequest request;     // model as given ("framescribe-demo:latest"), stream defaulted
  bool load_only = false;  // nothing to answer: reply with the "load" line
};

// POST /api/chat and POST /api/generate bodies.
OllamaChat parse_chat(std::string_view body, const ServeLimits& limits);
OllamaChat parse_generate(std::string_view body, const ServeLimits& limits);
// POST /api/show: {"model": ...} (or the older {"name": ...}); returns the model name.
std::string parse_show(std::string_view body);

// Parses a request body as a JSON object: 400 naming the position for malformed JSON, for a
// non-object, and for nesting deeper than `max_depth`.
nlohmann::json parse_body(std::string_view body, int max_depth = 64);

// "framescribe-demo:latest" and "framescribe-demo" name the served model "framescribe-demo";
// any other tag does not.
bool names_model(std::string_view requested, std::string_view served);
// The served name as Ollama lists it: "framescribe-demo:latest".
std::string tagged(std::string_view served);

// The media type of an image from its first base64 characters ("image/png", ...).
std::string sniff_base64_image(std::string_view base64);

struct ModelFacts {             // what /api/tags and /api/show tell about the served model
  std::string name;             // served name, untagged
  std::int64_t size_bytes = 0;  // the weight files
  std::string digest;           // 64 hex digits (of the config file)
  std::int64_t parameters = 0;
  std::int64_t context_tokens = 0;
  std::int64_t embedding_length = 0, block_count = 0, head_count = 0, vocab_size = 0;
  std::int64_t modified_unix_s = 0;
  std::string format = "safetensors";
  std::string quantization = "F32";
};
nlohmann::json tags(const ModelFacts& model);
nlohmann::json show(const ModelFacts& model);
nlohmann::json version(std::string_view version);
// "7.2M", "1.1M", "12.4B": Ollama's parameter_size.
std::string parameter_size(std::int64_t parameters);

struct Durations {  // milliseconds, from ChatOutcome/ChatTimings and the route's clock
  double total_ms = 0;
  double prompt_eval_ms = 0;
  double eval_ms = 0;
};
Durations durations(const inference::ChatResult& result, double total_ms);
// "stop" (end of sequence, a stop string), "length" (num_predict, the context), "cancel".
std::string done_reason(inference::StopReason reason);

// One streamed line's object: {"model","created_at","message":{"role":"assistant","content"},
// "done":false} (chat) or {"model","created_at","response","done":false} (generate).
nlohmann::json chat_piece(std::string_view model, std::string_view text);
nlohmann::json generate_piece(std::string_view model, std::string_view text);
// The last object (streamed) or the only one (not streamed, `text` the whole answer): done true,
// done_reason, durations in ns and the token counts.
nlohmann::json chat_done(std::string_view model, std::string_view text,
                         const inference::ChatResult& result, const Durations& d);
nlohmann::json generate_done(std::string_view model, std::string_view text,
                             const inference::ChatResult& result, const Durations& d);
nlohmann::json chat_load(std::string_view model);
nlohmann::json generate_load(std::string_view model);
// {"error": message}
nlohmann::json error(std::string_view message);
// RFC 3339 UTC with nanoseconds, as Ollama writes created_at: "2026-12-05T22:10:03.123456789Z".
std::string created_at(std::int64_t unix_ns);
std::string created_at_now();

}  // namespace framescribe::serve::ollama
