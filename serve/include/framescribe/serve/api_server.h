// The server of `framescribe serve`: one http::Server, the model it serves (ModelHost), the
// ChatService over it and the metrics, with the core routes added at construction:
//   GET  /health                200 {"status":"ok"}; 503 while the model loads
//   GET  /v1/models             the served model (max_model_len, input modalities)
//   GET  /v1/models/{id}        one model; 404 for another name
//   POST /v1/chat/completions   OpenAI chat (JSON or Server-Sent Events)
//   GET  /metrics               Prometheus text (metrics.h)
// Other parts of serve (Ollama routes, video jobs, the web page) add theirs before start():
//
//   ModelHost host = ...;                                   // loaded later: host.loaded
//   ApiServer server(host, {.host = "127.0.0.1", .port = 0});
//   server.http().route("POST", "/api/chat", server.counted("/api/chat", handler));
//   server.policy().public_paths.push_back("/");           // before start()
//   server.start();                                         // listening on server.port()
//   ...
//   server.drain();   // the gate closes (waiters: 503), in-flight answers finish, then stop
//
// Errors the server answers itself (401, 404 no such route, 405, 413, 421, 503 too many
// connections, 500) are in the OpenAI envelope, except under /api/ (Ollama: {"error": "..."}).
// Thread-safety: routes and policy are set before start(); handlers run on the server's
// threads; chat(), metrics() and host().gate are thread-safe. Errors: the constructor throws
// Error(kIo) when the address cannot be bound.
#pragma once

#include <memory>
#include <string>

#include "framescribe/http/server.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/metrics.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve {

struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: a free port (port() tells which)
  http::ApiPolicy policy;
  ServeLimits limits;
};

class ApiServer {
 public:
  ApiServer(ModelHost& host, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  http::Server& http() { return *http_; }
  http::ApiPolicy& policy() { return options_.policy; }
  ChatService& chat() { return chat_; }
  Metrics& metrics() { return metrics_; }
  ModelHost& host() { return host_; }
  const ServeLimits& limits() const { return options_.limits; }
  int port() const { return http_->port(); }

  // `handler` with its answers counted in metrics() under `endpoint`, and ApiError (or any other
  // exception: 500) turned into the OpenAI error reply.
  http::RequestHandler counted(std::string endpoint, http::RequestHandler handler);
  // The OpenAI error reply of `e`: its status, the envelope, Retry-After when it has one.
  static http::Reply error_reply(const ApiError& e);

  void start();
  // Closes the gate (new and queued requests: 503), lets the answers in progress finish, then
  // stops the server. Idempotent.
  void drain();

 private:
  void add_core_routes();
  EngineLoad engine_load() const;  // for /metrics
  http::Reply chat_completions(const http::Request& request);

  ModelHost& host_;
  ApiServerOptions options_;
  std::unique_ptr<http::Server> http_;
  ChatService chat_;
  Metrics metrics_;
};

}  // namespace framescribe::serve
