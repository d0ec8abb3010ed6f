#include "framescribe/sinks/status_http.h"

#include <stdexcept>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/http/server.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {

MonitorHttp::MonitorHttp(const MonitorBoard& board, const std::string& host, int port)
    : board_(board) {
  try {
    server_ = std::make_unique<http::Server>(host, port);
  } catch (const Error& e) {
    FS_FAIL(kIo, "--http " << e.what());
  }
  server_->get("/", [this](const http::Captures&) {
    return http::Reply{200, "text/html; charset=utf-8", status_page(board_.snapshot())};
  });
  server_->get("/metrics", [this](const http::Captures&) {
    const EngineStatus engine = board_.engine();
    return http::Reply{200, "text/plain; version=0.0.4",
                       prometheus_metrics(board_.snapshot(), &engine)};
  });
  server_->get("/status.json", [this](const http::Captures&) {
    return http::Reply{200, "application/json", status_json(board_.snapshot())};
  });
  server_->get(R"(/frame/(\d+)\.jpg)", [this](const http::Captures& c) {
    int i = -1;
    try {
      i = std::stoi(c.at(1));
    } catch (const std::logic_error&) {
    }
    auto img = board_.frame(i);
    if (!img) return http::Reply{404, {}, {}};
    try {
      const std::vector<std::uint8_t> jpeg = encode_jpeg(*img);
      return http::Reply{200, "image/jpeg", std::string(jpeg.begin(), jpeg.end())};
    } catch (const Error&) {
      return http::Reply{500, {}, {}};
    }
  });
  port_ = server_->port();
  server_->start();
  FS_LOG_INFO("status page on http://" << host << ":" << port_ << "/");
}

MonitorHttp::~MonitorHttp() = default;

}  // namespace framescribe::sinks
