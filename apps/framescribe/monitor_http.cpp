#include "monitor_http.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"
#include "http_policy.h"

namespace framescribe::apps {

void parse_host_port(const std::string& text, std::string* host, int* port) {
  const auto colon = text.rfind(':');
  FS_CHECK(colon != std::string::npos && colon > 0, kInvalidArgument,
           "--http " << text << ": expected HOST:PORT, e.g. 127.0.0.1:8080");
  *host = text.substr(0, colon);
  try {
    std::size_t used = 0;
    *port = std::stoi(text.substr(colon + 1), &used);
    FS_CHECK(used == text.size() - colon - 1 && *port >= 0 && *port < 65536, kInvalidArgument,
             "--http " << text << ": bad port");
  } catch (const std::logic_error&) {
    FS_FAIL(kInvalidArgument, "--http " << text << ": bad port");
  }
}

namespace {

// Newest first, as on the page.
nlohmann::json history_json(const std::deque<HistoryItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (auto it = items.rbegin(); it != items.rend(); ++it)
    out.push_back(
        {{"wall_clock_ns", it->wall_clock_ns}, {"text", it->text}, {"seconds", it->seconds}});
  return out;
}

}  // namespace

MonitorHttp::MonitorHttp(const MonitorBoard& board, const std::string& host, int port)
    : board_(board), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_page(board_.snapshot()), "text/html; charset=utf-8");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_metrics(board_.snapshot()), "text/plain; version=0.0.4");
  });
  server_->Get("/status.json", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json all = nlohmann::json::array();
    for (const StreamStatus& s : board_.snapshot())
      all.push_back({{"stream", s.name},
                     {"connected", s.connected},
                     {"frames", s.frames_received},
                     {"windows", s.job.windows_done},
                     {"windows_dropped", s.job.windows_dropped},
                     {"reconnects", s.reconnects},
                     {"gaps", s.gaps},
                     {"latency_s", s.job.last_latency_s},
                     {"description", s.description},
                     {"alerts", s.recent_alerts},
                     {"recent_descriptions", history_json(s.recent_descriptions)},
                     {"recent_gaps", history_json(s.recent_gaps)}});
    res.set_content(all.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
  });
  server_->Get(R"(/frame/(\d+)\.jpg)", [this](const httplib::Request& req, httplib::Response& res) {
    int i = -1;
    try {
      i = std::stoi(req.matches[1].str());
    } catch (const std::logic_error&) {
    }
    auto img = board_.frame(i);
    if (!img) {
      res.status = 404;
      return;
    }
    try {
      const std::vector<std::uint8_t> jpeg = sinks::encode_jpeg(*img);
      res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
    } catch (const Error& e) {
      res.status = 500;
    }
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  FS_CHECK(port_ > 0, kIo, "--http " << host << ":" << port << ": cannot listen there");
  // GET/HEAD only, tiny bodies, and only for the Host it listens on (http_policy.h): the page
  // shows live camera frames, so a web page elsewhere must not read it through DNS rebinding.
  apply_http_policy(*server_, HttpPolicy{.bound_host = host, .bound_port = port_});
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  FS_LOG_INFO("status page on http://" << host << ":" << port_ << "/");
}

MonitorHttp::~MonitorHttp() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace framescribe::apps
