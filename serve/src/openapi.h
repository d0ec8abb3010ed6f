// The server's OpenAPI 3.1 document (serve/openapi/openapi.json + schemas.json, merged and
// embedded at build time by serve/openapi/openapi.cmake); add_openapi_route (ollama_routes.h)
// publishes it at GET /openapi.json.
//
//   nlohmann::json::parse(openapi_document());   // the document
//
// Rules: the document lists every endpoint of the server with its request and response schemas
// and every error status it answers (OpenAI envelope on /v1/* and the server's own routes,
// {"error": "..."} on Ollama's /api/*); schemathesis checks the running server against it
// (tests/serve/python/test_schemathesis.py). Change the JSON files, not the generated .cpp.
// Thread-safety: immutable data. Errors: none at run time (a malformed document fails the
// configure).
#pragma once

#include <string_view>

namespace framescribe::serve {

std::string_view openapi_document();
// framescribe's version (the project's), as /api/version and the document's info.version say.
std::string_view serve_version();

}  // namespace framescribe::serve
