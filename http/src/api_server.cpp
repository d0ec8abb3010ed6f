// http::Server as an API server (route() + start_api()): the request rules run in cpp-httplib's
// pre-routing handler, before any body is read (Host, method, route, authentication, declared
// body size), then the route's handler runs with the body read whole (at most its limit).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <regex>

#include "api_state.h"
#include "framescribe/core/error.h"
#include "framescribe/http/http_policy.h"
#include "framescribe/http/server.h"

namespace framescribe::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int sockaddr_port(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

// The accepted socket of a request: cpp-httplib does not hand it to handlers, so it is found
// among the process's descriptors by its two ports (the peer's and ours). -1: not found.
int find_connection_fd(int remote_port, int local_port) {
  if (remote_port <= 0 || local_port <= 0) return -1;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage peer{}, self{};
    socklen_t lp = sizeof peer, ls = sizeof self;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &lp) != 0) continue;
    if (sockaddr_port(peer) != remote_port) continue;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&self), &ls) != 0) continue;
    if (sockaddr_port(self) != local_port) continue;
    found = static_cast<int>(fd);
    break;
  }
  closedir(dir);
  return found;
}

// True once the peer has closed (or reset) the connection. Data waiting to be read (a pipelined
// request) is not a close.
bool connection_closed(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)) return true;
  if (p.revents & POLLIN) {
    char c;
    const ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
  return false;
}

// Reads and drops up to `bytes` from the socket, for at most two seconds.
constexpr std::size_t kDrainBytes = 8u << 20;
void drain_body(int fd, std::size_t bytes) {
  if (fd < 0) return;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char buf[16384];
  while (bytes > 0 && std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, std::min(bytes, sizeof buf), MSG_DONTWAIT);
    if (n <= 0) return;
    bytes -= static_cast<std::size_t>(n);
  }
}

// The connection check of one request: finds the socket on first use.
std::function<bool()> client_gone_probe(int remote_port, int local_port) {
  auto fd = std::make_shared<int>(-2);
  return [fd, remote_port, local_port] {
    if (*fd == -2) *fd = find_connection_fd(remote_port, local_port);
    return connection_closed(*fd);
  };
}

Request to_request(const httplib::Request& req, bool with_body) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& m : req.matches) r.captures.push_back(m.str());
  for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
  for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
  if (with_body) r.body = req.body;
  r.remote_addr = req.remote_addr;
  r.client_gone = client_gone_probe(req.remote_port, req.local_port);
  return r;
}

// Compares without leaking, through timing, how much of the key matched.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

// Counts the connections being served; a connection beyond the limit is answered 503 by the
// pre-routing handler (threads beyond the limit exist for exactly that).
thread_local bool tl_over_limit = false;

class CountingQueue : public httplib::TaskQueue {
 public:
  CountingQueue(std::size_t threads, std::atomic<int>* active, int limit)
      : pool_(threads), active_(active), limit_(limit) {}
  void enqueue(std::function<void()> fn) override {
    pool_.enqueue([this, fn = std::move(fn)] {
      tl_over_limit = ++*active_ > limit_;
      fn();
      --*active_;
      tl_over_limit = false;
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<int>* active_;
  int limit_;
};

void write_reply(const Reply& r, httplib::Response& res, const std::function<bool()>& gone) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  if (r.stream) {
    auto stream = r.stream;
    const std::string type = r.content_type.empty() ? "application/octet-stream" : r.content_type;
    res.set_chunked_content_provider(type, [stream, gone](std::size_t, httplib::DataSink& sink) {
      bool ok = true;
      stream([&](std::string_view chunk) {
        if (!ok) return false;
        if (gone && gone()) return ok = false;
        if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) ok = false;
        return ok;
      });
      if (ok) sink.done();
      return ok;
    });
  } else if (!r.content_type.empty()) {
    res.set_content(r.body, r.content_type);
  }
}

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::string Request::query_value(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

void Server::route(const std::string& method, const std::string& pattern, RequestHandler handler,
                   std::size_t body_limit) {
  FS_CHECK(!thread_.joinable(), kInvalidArgument, "routes are added before the server starts");
  if (!api_) api_ = std::make_shared<ApiState>();
  api_->routes.push_back({method, std::regex(pattern), body_limit});
  std::weak_ptr<ApiState> weak = api_;
  auto wrapped = [weak, handler = std::move(handler), body_limit](const httplib::Request& req,
                                                                  httplib::Response& res) {
    auto state = weak.lock();
    if (!state) return;
    Request r = to_request(req, true);
    const ApiPolicy& policy = state->policy;
    auto fail = [&](int status, const std::string& message) {
      Request bare = r;
      bare.body.clear();
      Reply e = policy.error_reply ? policy.error_reply(status, message, bare)
                                   : Reply{status, "text/plain; charset=utf-8", message + "\n"};
      write_reply(e, res, {});
    };
    const std::size_t limit = body_limit ? body_limit : policy.max_body_bytes;
    if (r.body.size() > limit) {
      res.set_header("Connection", "close");
      return fail(413, "request bodies here are limited to " + std::to_string(limit) + " bytes");
    }
    try {
      write_reply(handler(r), res, r.client_gone);
    } catch (const std::exception& e) {
      fail(500, std::string("internal error: ") + e.what());
    }
  };
  if (method == "GET") {
    server_->Get(pattern, wrapped);
  } else if (method == "POST") {
    server_->Post(pattern, wrapped);
  } else if (method == "PUT") {
    server_->Put(pattern, wrapped);
  } else if (method == "PATCH") {
    server_->Patch(pattern, wrapped);
  } else if (method == "DELETE") {
    server_->Delete(pattern, wrapped);
  } else {
    FS_FAIL(kInvalidArgument, "http::Server::route: unsupported method " << method);
  }
}

void Server::start_api(const ApiPolicy& policy) {
  FS_CHECK(!thread_.joinable(), kInvalidArgument, "the server is already started");
  if (!api_) api_ = std::make_shared<ApiState>();
  api_->policy = policy;
  std::shared_ptr<ApiState> state = api_;
  std::size_t biggest = policy.max_body_bytes;
  for (const auto& r : state->routes) biggest = std::max(biggest, r.body_limit);
  server_->set_payload_max_length(biggest);
  server_->set_read_timeout(policy.read_timeout_s, 0);
  server_->set_write_timeout(policy.write_timeout_s, 0);
  server_->set_keep_alive_max_count(100);
  const int max_conn = std::max(1, policy.max_connections);
  server_->new_task_queue = [state, max_conn] {
    return new CountingQueue(static_cast<std::size_t>(max_conn) + 8, &state->connections, max_conn);
  };
  const HttpPolicy host_rules{.bound_host = host_, .bound_port = port_};
  // Errors cpp-httplib answers itself (a malformed request, a body over the largest limit)
  // get the API's error body too.
  server_->set_error_handler([state](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || !state->policy.error_reply) return;
    const std::string message =
        res.status == 413 ? "the request body is too large" : "the request could not be handled";
    write_reply(state->policy.error_reply(res.status, message, to_request(req, false)), res, {});
    // cpp-httplib answers these (a request it cannot parse, a multipart body without a
    // boundary, ...) without reading the body: tell the client not to reuse the connection, or
    // the unread bytes are taken for its next request (found by schemathesis, tests/serve/python).
    if (res.status >= 400) res.set_header("Connection", "close");
  });
  server_->set_pre_routing_handler([state, host_rules](const httplib::Request& req,
                                                       httplib::Response& res) {
    const ApiPolicy& p = state->policy;
    std::size_t declared = 0;
    bool chunked = false;
    if (req.has_header("Transfer-Encoding")) {
      chunked = true;
    } else if (req.has_header("Content-Length")) {
      const std::string cl = req.get_header_value("Content-Length");
      std::size_t used = 0;
      try {
        declared = static_cast<std::size_t>(std::stoull(cl, &used));
        if (used != cl.size()) declared = std::numeric_limits<std::size_t>::max();
      } catch (const std::logic_error&) {
        declared = std::numeric_limits<std::size_t>::max();
      }
    }
    auto refuse = [&](int status, const std::string& message) {
      Request r = to_request(req, false);
      Reply e = p.error_reply ? p.error_reply(status, message, r)
                              : Reply{status, "text/plain; charset=utf-8", message + "\n"};
      write_reply(e, res, {});
      // The body (if any) was not read. cpp-httplib keeps a connection by the request's headers
      // only (Connection: close here is advice to the client), so bytes of that body that
      // arrive are read as the next request: not a request line, answered 400, connection
      // closed. Each request is checked on its own, so nothing in the body passes unchecked.
      if (declared > 0 || chunked) res.set_header("Connection", "close");
      // A body of a few MiB is read and dropped first, so that the client, still sending, sees
      // the answer instead of a reset connection; a larger one is not read at all.
      if (!chunked && declared > 0 && declared <= kDrainBytes)
        drain_body(find_connection_fd(req.remote_port, req.local_port), declared);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (tl_over_limit) {
      res.set_header("Retry-After", "1");
      return refuse(503, "too many connections; retry later");
    }
    if (!req.has_header("Host")) return refuse(400, "a Host header is required");
    if (!host_matches(host_rules, req.get_header_value("Host")))
      return refuse(421,
                    "this server answers only for the address it listens on, not for the Host "
                    "header given");
    if (!p.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", p.cors_origin);
      res.set_header("Vary", "Origin");
    }
    // Which routes the path has, and whether one takes this method (HEAD as GET).
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    const ApiState::Route* match = nullptr;
    std::string allow;
    for (const auto& r : state->routes) {
      if (!std::regex_match(req.path, r.pattern)) continue;
      if (allow.find(r.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + r.method;
      if (r.method == method && !match) match = &r;
    }
    if (req.method == "OPTIONS" && !p.cors_origin.empty() && !allow.empty()) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", allow + ", OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (allow.empty()) return refuse(404, "no such endpoint: " + req.method + " " + req.path);
    if (!match) {
      res.set_header("Allow", allow);
      return refuse(405,
                    req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")");
    }
    const bool is_public =
        std::find(p.public_paths.begin(), p.public_paths.end(), req.path) != p.public_paths.end();
    if (!p.api_key.empty() && !is_public) {
      const std::string auth = req.get_header_value("Authorization");
      if (auth.size() < 7 || !iequals(std::string_view(auth).substr(0, 7), "Bearer ") ||
          !same_secret(std::string_view(auth).substr(7), p.api_key)) {
        res.set_header("WWW-Authenticate", "Bearer");
        return refuse(401, auth.empty() ? "an API key is required (Authorization: Bearer KEY)"
                                        : "the API key is not valid");
      }
    }
    const std::size_t limit = match->body_limit ? match->body_limit : p.max_body_bytes;
    if (!chunked && declared > limit)
      return refuse(413, "request bodies here are limited to " + std::to_string(limit) +
                             " bytes; this one declares " +
                             (declared == std::numeric_limits<std::size_t>::max()
                                  ? std::string("an invalid length")
                                  : std::to_string(declared)));
    return httplib::Server::HandlerResponse::Unhandled;
  });
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void Server::stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace framescribe::http
