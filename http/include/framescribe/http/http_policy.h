// The request rules of framescribe's small read-only web servers (monitor's status page; a
// future `serve`): GET and HEAD only, no request bodies beyond a few bytes, and a Host header
// that names the address the server is bound to, so a web page on another site cannot reach
// the server through a name it controls (DNS rebinding) and read live camera frames.
//
//   HttpPolicy p{.bound_host = "127.0.0.1", .bound_port = 8080};
//   HttpVerdict v = check_http_request(p, "GET", "localhost:8080", 0);   // v.allowed()
//   apply_http_policy(server, p);   // the same rules on a cpp-httplib server, before routing
//
// Host rules: bound to a loopback address or "localhost", the Host may be any loopback form
// (localhost, 127.x.y.z, [::1]); bound to a wildcard address (0.0.0.0, ::), any IP literal or
// localhost (an IP literal cannot be rebound); bound to any other address or name, exactly that.
// The port must be the bound port (a Host without a port means 80). Names compare
// case-insensitively, a trailing dot is ignored.
//
// Pure functions, thread-safe; apply_http_policy installs a handler that only reads its copy.
// http::Server (server.h) applies these rules to every server it starts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace httplib {
class Server;
}

namespace framescribe::http {

struct HttpPolicy {
  std::string bound_host;  // as given to bind ("127.0.0.1", "::1", "0.0.0.0", "localhost", ...)
  int bound_port = 0;      // the port actually bound
  std::size_t max_body_bytes = 1024;  // these servers serve GET pages: no request needs a body
};

struct HttpVerdict {
  int status = 0;       // 0: allowed; otherwise the status to answer (400, 405, 413, 421)
  std::string message;  // the response body: why, in one line
  std::string allow;    // for 405: the Allow header's value
  bool allowed() const { return status == 0; }
};

// Checks one request. `host` is the Host header (nullopt: absent); `body_bytes` the declared
// Content-Length (a chunked body counts as larger than any limit).
HttpVerdict check_http_request(const HttpPolicy& policy, std::string_view method,
                               std::optional<std::string_view> host, std::size_t body_bytes);

// True when `host` (an address to bind) is a loopback one: "localhost", an IPv4 literal in
// 127.0.0.0/8, "::1" or "[::1]". A name like "127.example.com" is not.
bool is_loopback_address(std::string_view host);

// True when a Host header value names the bound address and port (rules above).
bool host_matches(const HttpPolicy& policy, std::string_view host);

// Installs the rules on a bound server (before its listen): a pre-routing handler answering
// refused requests (the body unread), the payload limit as a backstop, 5 s read/write
// timeouts, and one request per connection (so an unread body is never parsed as a request).
void apply_http_policy(httplib::Server& server, const HttpPolicy& policy);

// "127.0.0.1:8080" -> host, port (0 to 65535). Throws Error(kInvalidArgument) naming `option`
// ("--http 127.0.0.1: expected HOST:PORT, e.g. 127.0.0.1:8080").
void parse_host_port(const std::string& text, std::string* host, int* port,
                     const char* option = "--http");

}  // namespace framescribe::http
