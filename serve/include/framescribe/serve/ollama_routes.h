// The Ollama-compatible endpoints of `framescribe serve`, and the route of the server's OpenAPI
// document, added to an ApiServer before it starts:
//
//   ApiServer server(host, options);
//   add_ollama_routes(server);    // POST /api/chat, POST /api/generate, GET /api/tags,
//                                 // POST /api/show, GET /api/version
//   add_openapi_route(server);    // GET /openapi.json (serve/openapi, embedded at build time)
//   server.start();
//
// The Ollama routes run requests through server.chat() like the OpenAI route: the same model
// names (host.serves: NAME, NAME:latest), limits, queue and metrics. Streaming (Ollama's
// default) is NDJSON (application/x-ndjson), one object per line, the last with done true and
// the counts and durations; every error known before the first line (bad JSON or image, unknown
// model 404, context overflow, queue full 429, draining 503) is an HTTP status with
// {"error": "..."}; an error after the first line is one more line {"error": "..."}. A client
// that goes away stops its generation. Formats: serve/src/ollama_json.h.
// Thread-safety: call before start(); the handlers are thread-safe. Errors: none of its own.
#pragma once

namespace framescribe::serve {

class ApiServer;

void add_ollama_routes(ApiServer& server);
void add_openapi_route(ApiServer& server);

}  // namespace framescribe::serve
