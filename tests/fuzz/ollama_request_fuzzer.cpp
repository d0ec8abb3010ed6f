// libFuzzer target for the request parsers of `framescribe serve`: the Ollama bodies
// (/api/chat, /api/generate, /api/show; serve/src/ollama_json.h). The first byte chooses the
// parser, the rest is the body. A parser either returns or throws ApiError with a 4xx status and
// a message; never another exception, a crash or a hang. What it returns keeps the promises of
// chat_request.h: every part names where it came from, images are data URIs, no more images or
// parts than the limits, system and assistant messages hold text only.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target ollama_request_fuzzer
//   build/fuzz/tests/fuzz/ollama_request_fuzzer -dict=tests/fuzz/ollama_request.dict CORPUS_COPY
// or tools/fuzz.sh [seconds] ollama_request.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "framescribe/serve/api_error.h"
#include "ollama_json.h"

namespace {

namespace fs = framescribe::serve;

[[noreturn]] void broken_promise(const char* what) {
  std::fprintf(stderr, "ollama_request_fuzzer: %s\n", what);
  std::abort();
}

void check(const fs::ChatRequest& r, const fs::ServeLimits& limits) {
  int images = 0, parts = 0;
  for (const fs::RequestMessage& m : r.messages) {
    if (m.where.empty()) broken_promise("a message without where");
    for (const fs::RequestPart& p : m.parts) {
      ++parts;
      if (p.where.empty()) broken_promise("a part without where");
      if (p.kind == fs::RequestPart::Kind::kImage) {
        ++images;
        if (p.source.rfind("data:", 0) != 0 && p.source.rfind("DATA:", 0) != 0)
          broken_promise("an Ollama image that is not a data URI");
        if (m.role != fs::RequestMessage::Role::kUser)
          broken_promise("an image outside a user message");
      }
    }
  }
  if (images > limits.max_images) broken_promise("more images than the limit");
  if (parts > limits.max_parts + 1) broken_promise("more parts than the limit");
  if (r.model.empty()) broken_promise("no model");
  for (const std::string& s : r.stop) {
    if (s.empty()) broken_promise("an empty stop string");
  }
  if (r.max_tokens && *r.max_tokens < 1) broken_promise("max_tokens below 1");
  if (r.temperature && !(*r.temperature >= 0)) broken_promise("a negative temperature");
  if (r.top_p && !(*r.top_p >= 0 && *r.top_p <= 1)) broken_promise("top_p outside [0, 1]");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  fs::ServeLimits limits;
  limits.max_images = 8;
  limits.max_parts = 16;
  try {
    switch (data[0] % 3) {
      case 0: {
        fs::ollama::OllamaChat c = fs::ollama::parse_chat(body, limits);
        if (!c.load_only) check(c.request, limits);
        break;
      }
      case 1: {
        fs::ollama::OllamaChat c = fs::ollama::parse_generate(body, limits);
        if (!c.load_only) check(c.request, limits);
        break;
      }
      default:
        if (fs::ollama::parse_show(body).empty()) broken_promise("an empty model name");
    }
  } catch (const fs::ApiError& e) {
    if (e.status() < 400 || e.status() > 499) broken_promise("a parser error that is not a 4xx");
    if (std::string_view(e.what()).empty()) broken_promise("an error without a message");
  }
  return 0;
}
