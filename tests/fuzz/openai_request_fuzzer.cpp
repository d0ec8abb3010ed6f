// libFuzzer target for serve's OpenAI request parser (parse_chat_request: nlohmann-json into a
// ChatRequest). Any input must either parse or throw serve::ApiError with a 400 or 413 status and
// a non-empty message; nothing else may escape, crash or hang. A request that parses satisfies
// the documented invariants: at least one message, each message's parts within max_parts in
// all, every part's `where` naming its message, media parts with a non-empty source, system and
// assistant messages of text only, top_logprobs in 0..20 and only with logprobs, max_tokens >= 1.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target openai_request_fuzzer
//   build/fuzz/tests/fuzz/openai_request_fuzzer -dict=tests/fuzz/openai_request.dict CORPUS_COPY
// or tools/fuzz.sh [seconds] openai_request.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "framescribe/serve/api_error.h"
#include "framescribe/serve/openai_json.h"

namespace {

[[noreturn]] void broken_promise(const char* what, const std::string& detail) {
  std::fprintf(stderr, "openai_request_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace framescribe::serve;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ServeLimits limits;
  limits.max_parts = 32;
  ChatRequest r;
  try {
    r = parse_chat_request(body, limits);
  } catch (const ApiError& e) {
    if (e.status() != 400 && e.status() != 413)
      broken_promise("status", std::to_string(e.status()));
    if (std::string(e.what()).empty()) broken_promise("empty message", "");
    return 0;
  }
  if (r.messages.empty()) broken_promise("no messages", "");
  int parts = 0;
  for (const RequestMessage& m : r.messages) {
    if (m.where.rfind("messages[", 0) != 0) broken_promise("message where", m.where);
    for (const RequestPart& p : m.parts) {
      ++parts;
      if (p.where.rfind(m.where, 0) != 0) broken_promise("part where", p.where);
      if (p.kind != RequestPart::Kind::kText) {
        if (p.source.empty()) broken_promise("empty source", p.where);
        if (m.role != RequestMessage::Role::kUser) broken_promise("media outside user", p.where);
      }
    }
  }
  if (parts > limits.max_parts) broken_promise("too many parts", std::to_string(parts));
  if (r.top_logprobs < 0 || r.top_logprobs > 20 || (r.top_logprobs > 0 && !r.logprobs))
    broken_promise("top_logprobs", std::to_string(r.top_logprobs));
  if (r.max_tokens && *r.max_tokens < 1)
    broken_promise("max_tokens", std::to_string(*r.max_tokens));
  if (r.include_usage && !r.stream) broken_promise("include_usage without stream", "");
  for (const std::string& s : r.stop)
    if (s.empty()) broken_promise("empty stop string", "");
  return 0;
}
