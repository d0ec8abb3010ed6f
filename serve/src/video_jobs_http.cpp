// The job API's routes and the web page on an http::Server (video_jobs.h).
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/http/server.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/video_jobs.h"
#include "video_job.h"

namespace framescribe::serve {
namespace {

namespace fs = std::filesystem;

const char* const kJson = "application/json";

http::Reply reply(int status, std::string type, std::string body) {
  http::Reply r;
  r.status = status;
  r.content_type = std::move(type);
  r.body = std::move(body);
  return r;
}

http::Reply error_reply(const ApiError& e) {
  nlohmann::ordered_json j = {{"error",
                               {{"message", e.what()},
                                {"type", e.type()},
                                {"param", e.param().empty() ? nlohmann::ordered_json(nullptr)
                                                            : nlohmann::ordered_json(e.param())},
                                {"code", e.code().empty() ? nlohmann::ordered_json(nullptr)
                                                          : nlohmann::ordered_json(e.code())}}}};
  // Messages may quote the request (invalid UTF-8 included): replaced, never a throw (a 500).
  http::Reply r =
      reply(e.status(), kJson,
            j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  if (e.retry_after_s() > 0)
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s()));
  return r;
}

// Runs `f`; an ApiError becomes its envelope, anything else a 500 that says what failed.
template <typename F>
http::Reply guarded(F&& f) {
  try {
    return f();
  } catch (const ApiError& e) {
    return error_reply(e);
  } catch (const std::exception& e) {
    return error_reply(ApiError(500, std::string("video jobs: ") + e.what()));
  }
}

std::string content_type(const fs::path& name) {
  const std::string ext = name.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".jsonl") return "application/jsonl; charset=utf-8";
  if (ext == ".srt") return "application/x-subrip; charset=utf-8";
  if (ext == ".vtt") return "text/vtt; charset=utf-8";
  if (ext == ".md") return "text/markdown; charset=utf-8";
  return "application/octet-stream";
}

// The report summarize writes: inline styles and data: thumbnails, no script, shown in the
// page's frame (same origin only).
const char* const kReportCsp =
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'";

}  // namespace

const char* const kVideoPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::string_view video_page_file(std::string_view name);  // video_page.cpp (generated)

void VideoJobs::add_routes(http::Server& server, const RouteWrapper& wrap) {
  const auto route = [&](const char* method, const std::string& pattern, std::string endpoint,
                         http::RequestHandler h, std::size_t limit = 0) {
    server.route(method, pattern, wrap ? wrap(std::move(endpoint), std::move(h)) : std::move(h),
                 limit);
  };
  const auto page = [](std::string_view name, const char* type) {
    return [name, type](const http::Request&) {
      http::Reply r = reply(200, type, std::string(video_page_file(name)));
      r.headers = {{"Content-Security-Policy", kVideoPageCsp},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Referrer-Policy", "no-referrer"},
                   {"Cache-Control", "no-cache"}};
      return r;
    };
  };
  route("GET", "/", "/", page("index.html", "text/html; charset=utf-8"));
  route("GET", "/web/app.js", "/web", page("app.js", "text/javascript; charset=utf-8"));
  route("GET", "/web/app.css", "/web", page("app.css", "text/css; charset=utf-8"));

  route("POST", "/v1/videos/summaries", "/v1/videos/summaries", [this](const http::Request& req) {
    return guarded([&] { return reply(202, kJson, submit(req.body) + "\n"); });
  });
  route("GET", R"(/v1/videos/summaries/([^/]+))", "/v1/videos/summaries/{id}",
        [this](const http::Request& req) {
          return guarded([&] { return reply(200, kJson, status(req.captures[1]) + "\n"); });
        });
  route("DELETE", R"(/v1/videos/summaries/([^/]+))", "/v1/videos/summaries/{id}",
        [this](const http::Request& req) {
          return guarded([&] { return reply(200, kJson, cancel(req.captures[1]) + "\n"); });
        });
  route("GET", R"(/v1/videos/summaries/([^/]+)/files/([^/]+))",
        "/v1/videos/summaries/{id}/files/{name}", [this](const http::Request& req) {
          return guarded([&] {
            const fs::path path = file(req.captures[1], req.captures[2]);
            std::ifstream in(path, std::ios::binary);
            if (!in) throw ApiError(404, "the file is gone", "name");
            std::ostringstream body;
            body << in.rdbuf();
            http::Reply r = reply(200, content_type(path), body.str());
            r.headers = {{"X-Content-Type-Options", "nosniff"}};
            if (path.extension() == ".html")
              r.headers.emplace_back("Content-Security-Policy", kReportCsp);
            return r;
          });
        });
  route(
      "POST", "/v1/videos/uploads", "/v1/videos/uploads",
      [this](const http::Request& req) {
        return guarded(
            [&] { return reply(201, kJson, upload(req.body, req.query_value("name")) + "\n"); });
      },
      static_cast<std::size_t>(impl_->opt.max_upload_bytes));
}

}  // namespace framescribe::serve
