// The monitor's web server: "/" the status page, "/frame/<i>.jpg" each stream's
// latest frame, "/status.json", "/metrics" (Prometheus text).
//
//   MonitorHttp http(board, "127.0.0.1", 8080);   // listens on its own thread at once
//   http.port();                                   // the bound port (0 given: chosen)
//   // destructor stops it
//
// An http::Server (the http module), so requests follow framescribe/http/http_policy.h: GET and
// HEAD only (405), no body over 1 KiB (413), and a Host header naming the bound address and port
// (421 otherwise; loopback binds accept localhost, 127.0.0.1 and [::1]).
//
// Owns its server and thread; reads the board (thread-safe). Errors: a port that cannot be
// bound throws Error(kIo) ("--http HOST:PORT: cannot listen there").
#pragma once

#include <memory>
#include <string>

#include "framescribe/sinks/status_board.h"

namespace framescribe::http {
class Server;
}

namespace framescribe::sinks {

class MonitorHttp {
 public:
  MonitorHttp(const MonitorBoard& board, const std::string& host, int port);
  ~MonitorHttp();
  MonitorHttp(const MonitorHttp&) = delete;
  MonitorHttp& operator=(const MonitorHttp&) = delete;
  int port() const { return port_; }

 private:
  const MonitorBoard& board_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
};

}  // namespace framescribe::sinks
