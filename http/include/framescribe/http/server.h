// A small HTTP server (cpp-httplib underneath, not in this header) in two kinds: the read-only
// pages of the monitor (get() + start(): http_policy.h's rules) and JSON APIs (route() +
// start_api(): methods, bodies, Bearer keys, CORS, streamed replies), which `serve` uses.
//
//   http::Server server("127.0.0.1", 0);                  // binds now (0: a free port)
//   server.get("/", [](const http::Captures&) { return http::Reply{200, "text/plain", "ok\n"}; });
//   server.get(R"(/frame/(\d+)\.jpg)", [](const http::Captures& c) { ... c[1] ... });
//   server.start();                                        // listens on its own thread
//
//   http::Server api("127.0.0.1", 0);
//   api.route("POST", "/v1/echo", [](const http::Request& r) {
//     return http::Reply{200, "application/json", r.body};
//   }, /*body_limit=*/1 << 20);
//   api.start_api({.api_key = "k", .public_paths = {"/health"}});
//   server.port();                                         // the bound port
//   // stop() or the destructor stops the server and joins its threads
//
// API rules (start_api), checked before a handler runs and before any body is read: a Host
// naming the bound address (400 without, 421 otherwise), a route for the path (404) and the
// method (405 with Allow), the Bearer key except on public paths (401), the declared body size
// within the route's limit (413; a body of up to 8 MiB is read and dropped first so the client
// sees the answer, a larger one is not read), at most max_connections at once (503). CORS
// headers and preflight answers only when cors_origin is set. The server's own refusals use
// ApiPolicy::error_reply for their body. A streamed Reply sends its chunks as the streamer
// writes them (chunked encoding); write() returns false once the client is gone.
//
// Routes are added before start()/start_api(). Handlers run on the server's threads: what they
// read must be thread-safe; an exception from a handler becomes a 500. Errors: a host and port
// that cannot be bound throw Error(kIo) ("127.0.0.1:80: cannot listen there").
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace framescribe::http {

// A streamed body: called on the server's thread after the headers are sent; write() returns
// false once the client is gone (stop then). Used for Server-Sent Events and NDJSON.
using ChunkWriter = std::function<bool(std::string_view chunk)>;
using BodyStreamer = std::function<void(const ChunkWriter& write)>;

struct Reply {
  int status = 200;
  std::string content_type;  // empty with an empty body (a 404, say)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};  // extra (Retry-After, ...)
  BodyStreamer stream{};  // set: the body is streamed (chunked), `body` is ignored
};
// The route's regular expression's matches: [0] the whole path, [1]... the groups.
using Captures = std::vector<std::string>;
using Handler = std::function<Reply(const Captures&)>;

// A request to a route added with route(): everything a JSON API handler needs.
struct Request {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string path;    // without the query
  Captures captures;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::vector<std::pair<std::string, std::string>> query;    // decoded ?a=b&c=d
  std::string body;                                          // at most the route's body limit
  std::string remote_addr;
  std::function<bool()> client_gone;  // true once the connection is closed
  // The first header of that name (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
  std::string query_value(std::string_view name) const;
};
using RequestHandler = std::function<Reply(const Request&)>;

// The rules of a server that takes requests with bodies (serve): which methods, the body limit
// of each route, Bearer authentication, CORS. The read-only servers (monitor) keep HttpPolicy.
struct ApiPolicy {
  std::string api_key;                    // non-empty: "Authorization: Bearer KEY" on every route
                                          // except those listed in `public_paths` (401 otherwise)
  std::vector<std::string> public_paths;  // e.g. "/health"
  std::string cors_origin;                // non-empty: CORS headers for that origin (and preflight)
  std::size_t max_body_bytes = 64u << 20;  // default per route
  int read_timeout_s = 30, write_timeout_s = 30;
  int max_connections = 256;  // more concurrent connections: 503 at once
  // The body of every refusal and error the server itself answers (400 no Host, 401, 404 no
  // such route, 405, 413, 421, 500 a handler threw, 503 too many connections). Unset: a line
  // of text/plain. `request` has method, path and headers filled.
  std::function<Reply(int status, const std::string& message, const Request& request)> error_reply;
};

class Server {
 public:
  Server(const std::string& host, int port);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A GET (and HEAD) route: `pattern` is a regular expression matched against the whole path.
  void get(const std::string& pattern, Handler handler);
  // A route of any method for API servers (then start_api() instead of start()). `body_limit`
  // 0: the policy's max_body_bytes; a larger body is answered 413 without being read whole.
  void route(const std::string& method, const std::string& pattern, RequestHandler handler,
             std::size_t body_limit = 0);
  // Applies the request rules (http_policy.h) for the bound address and starts listening.
  void start();
  // Starts an API server: Host checked as http_policy.h's host_matches, the ApiPolicy's
  // methods, limits, authentication and CORS; keep-alive allowed.
  void start_api(const ApiPolicy& policy);
  // Stops accepting; returns once the listening thread has ended (in-flight handlers finish).
  // Idempotent; the destructor calls it.
  void stop();
  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  struct ApiState;  // routes and policy of an API server (api_server.cpp)
  std::unique_ptr<httplib::Server> server_;
  std::shared_ptr<ApiState> api_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

}  // namespace framescribe::http
