// http::Server as an API server (route + start_api) on 127.0.0.1: methods, captures, query and
// headers reach the handler; the server's own refusals (404, 405, 401, 413, 421, 503) come
// before the handler and in the policy's error body; a declared oversize body is refused
// without being read; CORS only when configured; streamed replies arrive in chunks; client_gone
// turns true when the client closes.
#include <gtest/gtest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "framescribe/http/server.h"

namespace framescribe::http {
namespace {

using namespace std::chrono_literals;

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads what arrives within `ms` (or until the server closes).
std::string read_for(int fd, int ms) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Reply echo(const Request& r) {
  return Reply{200, "text/plain",
               r.method + " " + r.path + " cap=" + (r.captures.size() > 1 ? r.captures[1] : "") +
                   " q=" + r.query_value("q") + " h=" + r.header("x-thing") + " body=" + r.body};
}

ApiPolicy json_errors() {
  ApiPolicy p;
  p.error_reply = [](int status, const std::string& message, const Request& r) {
    return Reply{status, "application/json",
                 "{\"status\":" + std::to_string(status) + ",\"message\":\"" + message +
                     "\",\"path\":\"" + r.path + "\"}"};
  };
  return p;
}

TEST(HttpApiServer, RoutesByMethodWithCapturesQueryHeadersAndBody) {
  Server s("127.0.0.1", 0);
  s.route("GET", R"(/items/(\w+))", echo);
  s.route("POST", R"(/items/(\w+))", echo);
  s.route("DELETE", R"(/items/(\w+))", echo);
  s.start_api(json_errors());
  httplib::Client c("127.0.0.1", s.port());
  auto g = c.Get("/items/abc?q=1%202", {{"X-Thing", "yes"}});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 200);
  EXPECT_EQ(g->body, "GET /items/abc cap=abc q=1 2 h=yes body=");
  auto p = c.Post("/items/x", "payload", "text/plain");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->body, "POST /items/x cap=x q= h= body=payload");
  auto d = c.Delete("/items/y");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "DELETE /items/y cap=y q= h= body=");
  auto missing = c.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(missing->body.find("no such endpoint: GET /nothing"), std::string::npos);
  auto put = c.Put("/items/x", "b", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  EXPECT_EQ(put->get_header_value("Allow"), "GET, POST, DELETE");
  auto foreign = c.Get("/items/a", {{"Host", "evil.example:" + std::to_string(s.port())}});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 421);
}

TEST(HttpApiServer, BearerKeyExceptPublicPaths) {
  Server s("127.0.0.1", 0);
  s.route("GET", "/health", echo);
  s.route("GET", "/private", echo);
  ApiPolicy p = json_errors();
  p.api_key = "k3y";
  p.public_paths = {"/health"};
  s.start_api(p);
  httplib::Client c("127.0.0.1", s.port());
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto none = c.Get("/private");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  auto wrong = c.Get("/private", {{"Authorization", "Bearer k3z"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto prefix = c.Get("/private", {{"Authorization", "Bearer k3"}});
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  auto right = c.Get("/private", {{"Authorization", "Bearer k3y"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
}

TEST(HttpApiServer, OversizeBodiesAreRefusedBeforeTheyAreRead) {
  Server s("127.0.0.1", 0);
  std::atomic<int> calls{0};
  s.route(
      "POST", "/small",
      [&](const Request& r) {
        ++calls;
        return echo(r);
      },
      1000);
  s.route("POST", "/big", echo, 100000);
  s.start_api(json_errors());
  // Headers announcing 1 GB, and no body at all: the answer must come at once.
  const int fd = connect_to(s.port());
  ASSERT_GE(fd, 0);
  const std::string head = "POST /small HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.port()) +
                           "\r\nContent-Length: 1000000000\r\n\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const auto t0 = std::chrono::steady_clock::now();
  std::string answer;
  while (answer.find("bytes") == std::string::npos &&
         std::chrono::steady_clock::now() - t0 < 3000ms)
    answer += read_for(fd, 50);
  close(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("limited to 1000 bytes"), std::string::npos);
  EXPECT_EQ(calls.load(), 0);
  httplib::Client c("127.0.0.1", s.port());
  auto ok = c.Post("/big", std::string(5000, 'x'), "text/plain");  // its own larger limit
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto over = c.Post("/small", std::string(5000, 'x'), "text/plain");
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  // A chunked body has no declared size: it is measured once read.
  httplib::Client c2("127.0.0.1", s.port());
  auto chunked = c2.Post(
      "/small",
      [](size_t offset, httplib::DataSink& sink) {
        if (offset < 4000) {
          const std::string part(1000, 'y');
          sink.write(part.data(), part.size());
        } else {
          sink.done();
        }
        return true;
      },
      "text/plain");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpApiServer, CorsOnlyWhenConfigured) {
  for (const bool cors : {false, true}) {
    Server s("127.0.0.1", 0);
    s.route("POST", "/v1/x", echo);
    ApiPolicy p = json_errors();
    if (cors) p.cors_origin = "http://app.example:3000";
    p.api_key = "k";
    s.start_api(p);
    httplib::Client c("127.0.0.1", s.port());
    auto pre = c.Options("/v1/x", {{"Origin", "http://app.example:3000"},
                                   {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(pre);
    auto post = c.Post("/v1/x", {{"Authorization", "Bearer k"}}, "b", "text/plain");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 200);
    if (cors) {
      EXPECT_EQ(pre->status, 204);
      EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "http://app.example:3000");
      EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Methods"), "POST, OPTIONS");
      EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
                std::string::npos);
      EXPECT_EQ(post->get_header_value("Access-Control-Allow-Origin"), "http://app.example:3000");
    } else {
      EXPECT_EQ(pre->status, 405);
      EXPECT_FALSE(pre->has_header("Access-Control-Allow-Origin"));
      EXPECT_FALSE(post->has_header("Access-Control-Allow-Origin"));
    }
  }
}

TEST(HttpApiServer, StreamsAndSeesTheClientGo) {
  Server s("127.0.0.1", 0);
  std::atomic<bool> saw_gone{false}, write_failed{false};
  s.route("GET", "/stream", [](const Request&) {
    Reply r{200, "text/event-stream", {}};
    r.stream = [](const ChunkWriter& write) {
      for (int i = 0; i < 3; ++i) write("data: " + std::to_string(i) + "\n\n");
    };
    return r;
  });
  s.route("GET", "/forever", [&](const Request& req) {
    Reply r{200, "text/plain", {}};
    r.stream = [&, gone = req.client_gone](const ChunkWriter& write) {
      const auto end = std::chrono::steady_clock::now() + 5s;
      while (std::chrono::steady_clock::now() < end) {
        if (gone()) saw_gone = true;
        if (!write("tick\n")) {
          write_failed = true;
          return;
        }
        std::this_thread::sleep_for(10ms);
      }
    };
    return r;
  });
  s.start_api(json_errors());
  httplib::Client c("127.0.0.1", s.port());
  auto st = c.Get("/stream");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  EXPECT_EQ(st->get_header_value("Transfer-Encoding"), "chunked");

  const int fd = connect_to(s.port());
  const std::string req =
      "GET /forever HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.port()) + "\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  EXPECT_NE(read_for(fd, 300).find("tick"), std::string::npos);
  close(fd);
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (!write_failed && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(write_failed.load()) << "the stream went on writing to a closed connection";
}

TEST(HttpApiServer, ClientGoneInAHandlerThatWaits) {
  Server s("127.0.0.1", 0);
  std::atomic<int> seen{-1};
  s.route("POST", "/wait", [&](const Request& r) {
    seen = 0;
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < end) {
      if (r.client_gone()) {
        seen = 1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    return Reply{200, "text/plain", "late"};
  });
  s.start_api(json_errors());
  const int fd = connect_to(s.port());
  const std::string req = "POST /wait HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.port()) +
                          "\r\nContent-Length: 2\r\n\r\nhi";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  const auto t0 = std::chrono::steady_clock::now();
  while (seen != 0 && std::chrono::steady_clock::now() < t0 + 2s) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(seen.load(), 0);  // still connected: not gone
  close(fd);
  while (seen != 1 && std::chrono::steady_clock::now() < t0 + 4s) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(seen.load(), 1);
}

TEST(HttpApiServer, ConnectionsBeyondTheLimitAre503) {
  Server s("127.0.0.1", 0);
  s.route("GET", "/x", echo);
  ApiPolicy p = json_errors();
  p.max_connections = 1;
  s.start_api(p);
  // One kept-alive connection holds the only slot.
  const int a = connect_to(s.port());
  const std::string req =
      "GET /x HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.port()) + "\r\n\r\n";
  send(a, req.data(), req.size(), MSG_NOSIGNAL);
  EXPECT_NE(read_for(a, 300).find("200 OK"), std::string::npos);
  const int b = connect_to(s.port());
  send(b, req.data(), req.size(), MSG_NOSIGNAL);
  const std::string refused = read_for(b, 1000);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  close(a);
  close(b);
}

}  // namespace
}  // namespace framescribe::http
