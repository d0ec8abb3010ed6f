// A small read-only HTTP server (cpp-httplib underneath, not in this header) that follows the
// request rules of http_policy.h: the monitor's status page uses it, and so will `serve`.
//
//   http::Server server("127.0.0.1", 0);                  // binds now (0: a free port)
//   server.get("/", [](const http::Captures&) { return http::Reply{200, "text/plain", "ok\n"}; });
//   server.get(R"(/frame/(\d+)\.jpg)", [](const http::Captures& c) { ... c[1] ... });
//   server.start();                                        // listens on its own thread
//   server.port();                                         // the bound port
//   // the destructor stops the server and joins its thread
//
// Routes are added before start(). Handlers run on the server's threads: what they read must be
// thread-safe; an exception from a handler becomes a 500. Errors: a host and port that cannot be
// bound throw Error(kIo) ("127.0.0.1:80: cannot listen there").
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace framescribe::http {

struct Reply {
  int status = 200;
  std::string content_type;  // empty with an empty body (a 404, say)
  std::string body;
};
// The route's regular expression's matches: [0] the whole path, [1]... the groups.
using Captures = std::vector<std::string>;
using Handler = std::function<Reply(const Captures&)>;

class Server {
 public:
  Server(const std::string& host, int port);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A GET (and HEAD) route: `pattern` is a regular expression matched against the whole path.
  void get(const std::string& pattern, Handler handler);
  // Applies the request rules (http_policy.h) for the bound address and starts listening.
  void start();
  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

}  // namespace framescribe::http
