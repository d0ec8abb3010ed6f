// The request rules of the monitor's web server (apps/framescribe/http_policy.h): the pure
// checks, then each rule against the real MonitorHttp on 127.0.0.1 through a raw socket (so the
// test controls the Host header and can announce a body it never sends).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "framescribe/http/http_policy.h"
#include "framescribe/sinks/status_board.h"
#include "framescribe/sinks/status_http.h"

namespace framescribe::http {
namespace {

HttpPolicy loopback(int port = 8080) {
  return HttpPolicy{.bound_host = "127.0.0.1", .bound_port = port};
}

TEST(HttpPolicy, LoopbackBindAcceptsEveryLoopbackNameOnItsPortOnly) {
  const HttpPolicy p = loopback();
  for (const char* h : {"127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "localhost.:8080",
                        "[::1]:8080", "127.0.0.2:8080"})
    EXPECT_TRUE(host_matches(p, h)) << h;
  for (const char* h : {"evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "localhost",
                        "10.0.0.1:8080", "127.0.0.1.evil.example:8080", "[::1]", "::1:8080", "",
                        ":8080", "localhost:80800", "localhost:8080x", "[::1]x", "local host:8080"})
    EXPECT_FALSE(host_matches(p, h)) << h;
  // "::1" and "localhost" binds take the same loopback forms.
  EXPECT_TRUE(host_matches({.bound_host = "::1", .bound_port = 8080}, "127.0.0.1:8080"));
  EXPECT_TRUE(host_matches({.bound_host = "localhost", .bound_port = 8080}, "[::1]:8080"));
  // Port 80: a Host without a port means 80.
  EXPECT_TRUE(host_matches(loopback(80), "localhost"));
}

TEST(HttpPolicy, OtherBindsAcceptTheirOwnAddressOrIpLiteralsOnWildcards) {
  const HttpPolicy lan{.bound_host = "192.168.1.20", .bound_port = 9000};
  EXPECT_TRUE(host_matches(lan, "192.168.1.20:9000"));
  EXPECT_FALSE(host_matches(lan, "localhost:9000"));
  EXPECT_FALSE(host_matches(lan, "cams.example:9000"));
  const HttpPolicy named{.bound_host = "cams.example", .bound_port = 9000};
  EXPECT_TRUE(host_matches(named, "CAMS.example:9000"));
  EXPECT_FALSE(host_matches(named, "evil.example:9000"));
  const HttpPolicy any{.bound_host = "0.0.0.0", .bound_port = 9000};
  EXPECT_TRUE(host_matches(any, "192.168.1.20:9000"));
  EXPECT_TRUE(host_matches(any, "[fe80::1]:9000"));
  EXPECT_TRUE(host_matches(any, "localhost:9000"));
  EXPECT_FALSE(host_matches(any, "rebind.evil.example:9000"));  // a name can be rebound
  EXPECT_FALSE(host_matches(any, "192.168.1.20:9001"));
}

TEST(HttpPolicy, LoopbackAddressesToBind) {
  for (const char* h : {"localhost", "LOCALHOST.", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
    EXPECT_TRUE(is_loopback_address(h)) << h;
  for (const char* h : {"0.0.0.0", "::", "10.0.0.1", "127.example.com", "localhost.example.com",
                        "128.0.0.1", "", "[::2]"})
    EXPECT_FALSE(is_loopback_address(h)) << h;
}

TEST(HttpPolicy, RequestVerdicts) {
  const HttpPolicy p = loopback();
  EXPECT_TRUE(check_http_request(p, "GET", "127.0.0.1:8080", 0).allowed());
  EXPECT_TRUE(check_http_request(p, "HEAD", "localhost:8080", 0).allowed());
  EXPECT_EQ(check_http_request(p, "GET", std::nullopt, 0).status, 400);
  EXPECT_EQ(check_http_request(p, "GET", "evil.example:8080", 0).status, 421);
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"}) {
    const HttpVerdict v = check_http_request(p, m, "127.0.0.1:8080", 0);
    EXPECT_EQ(v.status, 405) << m;
    EXPECT_EQ(v.allow, "GET, HEAD");
  }
  EXPECT_TRUE(check_http_request(p, "GET", "127.0.0.1:8080", p.max_body_bytes).allowed());
  EXPECT_EQ(check_http_request(p, "GET", "127.0.0.1:8080", p.max_body_bytes + 1).status, 413);
  EXPECT_EQ(check_http_request(p, "GET", "127.0.0.1:8080", 300'000'000).status, 413);
}

// One request on a fresh connection; returns everything read until the server closes it or
// `timeout_s` passes. `*seconds`: until the connection was closed.
std::string http_exchange(int port, const std::string& request, double timeout_s = 3,
                          double* seconds = nullptr) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return "(connect failed)";
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  (void)::send(s, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s, buf, sizeof buf, 0);
    // Closed: 0, or a reset when the server closed with our unread bytes in its buffer.
    if ((n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) && seconds != nullptr)
      *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  return out;
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

class MonitorHttpRules : public ::testing::Test {
 protected:
  void SetUp() override {
    board_.add_stream("rtsp://cam1/live");
    http_ = std::make_unique<sinks::MonitorHttp>(board_, "127.0.0.1", 0);
    port_ = http_->port();
    host_ = "127.0.0.1:" + std::to_string(port_);
  }
  std::string get(const std::string& path, const std::string& host) {
    return http_exchange(
        port_, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  }
  sinks::MonitorBoard board_;
  std::unique_ptr<sinks::MonitorHttp> http_;
  int port_ = 0;
  std::string host_;
};

TEST_F(MonitorHttpRules, ServesPagesForLoopbackHostNames) {
  for (const std::string& h :
       {host_, "localhost:" + std::to_string(port_), "[::1]:" + std::to_string(port_)}) {
    const std::string r = get("/metrics", h);
    EXPECT_EQ(status_of(r), 200) << h << "\n" << r;
    EXPECT_NE(r.find("framescribe_frames_received_total"), std::string::npos);
  }
  EXPECT_EQ(status_of(http_exchange(
                port_, "HEAD / HTTP/1.1\r\nHost: " + host_ + "\r\nConnection: close\r\n\r\n")),
            200);
}

TEST_F(MonitorHttpRules, RefusesAForeignHostHeader) {
  // What a browser sends after DNS rebinding: the attacker's name, our port.
  for (const std::string& h :
       {"rebind.evil.example:" + std::to_string(port_), "127.0.0.1:" + std::to_string(port_ + 1)}) {
    for (const char* path : {"/", "/frame/0.jpg", "/metrics", "/status.json"}) {
      const std::string r = get(path, h);
      EXPECT_EQ(status_of(r), 421) << h << path << "\n" << r;
      EXPECT_EQ(r.find("framescribe_"), std::string::npos);
    }
  }
  // No Host at all (HTTP/1.0).
  EXPECT_EQ(status_of(http_exchange(port_, "GET /metrics HTTP/1.0\r\n\r\n")), 400);
}

TEST_F(MonitorHttpRules, RefusesOtherMethodsWithAllow) {
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    const std::string r =
        http_exchange(port_, std::string(m) + " / HTTP/1.1\r\nHost: " + host_ +
                                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(r), 405) << m << "\n" << r;
    EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos) << r;
  }
}

TEST_F(MonitorHttpRules, AnswersAHugeBodyAtOnceWithoutReadingIt) {
  // 300 MB announced, 64 KiB sent: the answer must come at once and the connection close, not
  // after reading (or waiting for) the rest.
  const std::string chunk(64 * 1024, 'x');
  for (const std::string& head :
       {"POST /nowhere HTTP/1.1\r\nHost: " + host_ + "\r\nContent-Length: 300000000\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: " + host_ + "\r\nContent-Length: 300000000\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: " + host_ + "\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    double seconds = -1;
    const std::string r = http_exchange(port_, head + chunk, 3, &seconds);
    const int status = status_of(r);
    EXPECT_TRUE(status == 405 || status == 413) << head << "\n" << r;
    EXPECT_GE(seconds, 0);
    EXPECT_LT(seconds, 1.0) << head;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  }
}

}  // namespace
}  // namespace framescribe::http
