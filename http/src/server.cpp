#include "framescribe/http/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include "api_state.h"
#include "framescribe/core/error.h"
#include "framescribe/http/http_policy.h"

namespace framescribe::http {
namespace {

// cpp-httplib listens with a backlog of 5: a burst of connections (a page's images, many API
// clients at once) overflows it and the kernel drops their SYNs, which clients resend only after
// a second or more. listen() again on the bound socket raises the backlog.
class BacklogServer : public httplib::Server {
 public:
  void raise_backlog(int backlog) {
    const int fd = svr_sock_;
    if (fd >= 0) ::listen(fd, backlog);
  }
};

}  // namespace

Server::Server(const std::string& host, int port) : host_(host) {
  auto server = std::make_unique<BacklogServer>();
  if (port == 0) {
    port_ = server->bind_to_any_port(host);
  } else {
    port_ = server->bind_to_port(host, port) ? port : -1;
  }
  FS_CHECK(port_ > 0, kIo, host << ":" << port << ": cannot listen there");
  server->raise_backlog(512);
  server_ = std::move(server);
}

Server::~Server() {
  stop();
}

void Server::get(const std::string& pattern, Handler handler) {
  // Recorded for an API server too (start_api() answers 404/405 from the routes it knows).
  if (!api_) api_ = std::make_shared<ApiState>();
  api_->routes.push_back({"GET", std::regex(pattern), 0});
  server_->Get(pattern,
               [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                 Captures captures;
                 for (const auto& m : req.matches) captures.push_back(m.str());
                 Reply r;
                 try {
                   r = handler(captures);
                 } catch (const std::exception&) {
                   r = Reply{500, {}, {}};
                 }
                 res.status = r.status;
                 for (const auto& [k, v] : r.headers) res.set_header(k, v);
                 if (!r.content_type.empty()) res.set_content(r.body, r.content_type);
               });
}

void Server::start() {
  // GET/HEAD only, tiny bodies, and only for the Host it listens on (http_policy.h): a page
  // showing live camera frames must not be readable by a web page elsewhere through DNS
  // rebinding.
  apply_http_policy(*server_, HttpPolicy{.bound_host = host_, .bound_port = port_});
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

}  // namespace framescribe::http
