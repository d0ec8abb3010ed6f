// The server's OpenAPI 3.1 document (serve/openapi/openapi.json + schemas.json, merged and
// embedded at build time by serve/openapi/openapi.cmake) and the route that publishes it.
//
//   add_openapi_route(server);               // GET /openapi.json, before server.start_api()
//   nlohmann::json::parse(openapi_document()); // the document, for tests
//
// Rules: the document lists every endpoint of the server with its request and response schemas
// and every error status it answers (OpenAI envelope on /v1/* and the server's own routes,
// {"error": "..."} on Ollama's /api/*); schemathesis checks the running server against it
// (tests/serve/python/test_schemathesis.py). Change the JSON files, not the generated .cpp.
// Thread-safety: immutable data. Errors: none at run time (a malformed document fails the
// configure).
#pragma once

#include <string_view>

namespace framescribe::http {
class Server;
}

namespace framescribe::serve {

std::string_view openapi_document();
// framescribe's version (the project's), as /api/version and the document's info.version say.
std::string_view serve_version();
// GET /openapi.json: the document, application/json.
void add_openapi_route(http::Server& server);

}  // namespace framescribe::serve
