#include "framescribe/http/http_policy.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <limits>

#include "framescribe/core/error.h"

namespace framescribe::http {
namespace {

struct HostPort {
  std::string host;  // lower case, no brackets, no trailing dot
  int port = 80;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string normal_name(std::string_view s) {
  std::string h = lower(s);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

// "name", "name:port", "1.2.3.4:port", "[v6]", "[v6]:port"; nullopt when malformed.
std::optional<HostPort> parse_host(std::string_view text) {
  HostPort hp;
  std::string_view host = text, port;
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos) return std::nullopt;  // bare v6
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    hp.port = std::stoi(std::string(port));
  }
  hp.host = normal_name(host);
  if (hp.host.empty()) return std::nullopt;
  for (char c : hp.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '_'))
      return std::nullopt;
  return hp;
}

// The 16-byte form of an IP literal (IPv4 as v4-mapped IPv6), or nullopt for a name.
std::optional<std::array<unsigned char, 16>> ip_bytes(const std::string& h) {
  std::array<unsigned char, 16> b{};
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    b[10] = b[11] = 0xff;
    std::memcpy(b.data() + 12, &v4, 4);
    return b;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    std::memcpy(b.data(), &v6, 16);
    return b;
  }
  return std::nullopt;
}

bool is_loopback(const std::string& h) {
  if (h == "localhost") return true;
  const auto b = ip_bytes(h);
  if (!b) return false;
  static constexpr std::array<unsigned char, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                             0, 0, 0, 0, 0, 0, 0, 1};
  if (*b == kV6Loopback) return true;
  const bool v4_mapped =
      std::all_of(b->begin(), b->begin() + 10, [](unsigned char c) { return c == 0; }) &&
      (*b)[10] == 0xff && (*b)[11] == 0xff;
  return v4_mapped && (*b)[12] == 127;
}

bool is_wildcard(const std::string& h) {
  const auto b = ip_bytes(h);
  return h.empty() || (b && (*b == std::array<unsigned char, 16>{} ||
                             *b == std::array<unsigned char, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
                                                                 0xff, 0, 0, 0, 0}));
}

}  // namespace

bool is_loopback_address(std::string_view host) {
  return is_loopback(normal_name(host));
}

bool host_matches(const HttpPolicy& policy, std::string_view host) {
  const std::optional<HostPort> hp = parse_host(host);
  if (!hp || hp->port != policy.bound_port) return false;
  const std::string bound = normal_name(policy.bound_host);
  if (is_loopback(bound)) return is_loopback(hp->host);
  if (is_wildcard(bound)) return hp->host == "localhost" || ip_bytes(hp->host).has_value();
  const auto a = ip_bytes(bound), b = ip_bytes(hp->host);
  if (a && b) return *a == *b;
  return bound == hp->host;
}

HttpVerdict check_http_request(const HttpPolicy& policy, std::string_view method,
                               std::optional<std::string_view> host, std::size_t body_bytes) {
  HttpVerdict v;
  if (!host) {
    v.status = 400;
    v.message = "a Host header is required";
  } else if (!host_matches(policy, *host)) {
    // 421 Misdirected Request: this server does not answer for that name (DNS rebinding).
    v.status = 421;
    v.message =
        "this server answers only for the address it listens on, not for the Host "
        "header given";
  } else if (method != "GET" && method != "HEAD") {
    v.status = 405;
    v.message = "only GET and HEAD are allowed";
    v.allow = "GET, HEAD";
  } else if (body_bytes > policy.max_body_bytes) {
    v.status = 413;
    v.message = "request bodies are limited to " + std::to_string(policy.max_body_bytes) + " bytes";
  }
  return v;
}

void apply_http_policy(httplib::Server& server, const HttpPolicy& policy) {
  server.set_payload_max_length(policy.max_body_bytes);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  // One request per connection: cpp-httplib keeps a connection open according to the request's
  // headers only, so after a refusal it would go on parsing the unread body as requests. The
  // pages are small and reload every few seconds; a new connection per request costs nothing.
  server.set_keep_alive_max_count(1);
  server.set_pre_routing_handler([policy](const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> host;
    if (req.has_header("Host")) host = req.get_header_value("Host");
    std::size_t body = 0;
    if (req.has_header("Transfer-Encoding")) {
      body = std::numeric_limits<std::size_t>::max();  // chunked: no size known up front
    } else if (req.has_header("Content-Length")) {
      const std::string cl = req.get_header_value("Content-Length");
      try {
        std::size_t used = 0;
        const unsigned long long n = std::stoull(cl, &used);
        body = used == cl.size() ? static_cast<std::size_t>(n)
                                 : std::numeric_limits<std::size_t>::max();
      } catch (const std::logic_error&) {
        body = std::numeric_limits<std::size_t>::max();
      }
    }
    const HttpVerdict v = check_http_request(
        policy, req.method, host ? std::optional<std::string_view>(*host) : std::nullopt, body);
    if (v.allowed()) return httplib::Server::HandlerResponse::Unhandled;
    res.status = v.status;
    if (!v.allow.empty()) res.set_header("Allow", v.allow);
    // The body (if any) is never read: the connection must not be reused.
    res.set_header("Connection", "close");
    res.set_content(v.message + "\n", "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
}

void parse_host_port(const std::string& text, std::string* host, int* port, const char* option) {
  const auto colon = text.rfind(':');
  FS_CHECK(colon != std::string::npos && colon > 0, kInvalidArgument,
           option << " " << text << ": expected HOST:PORT, e.g. 127.0.0.1:8080");
  *host = text.substr(0, colon);
  try {
    std::size_t used = 0;
    *port = std::stoi(text.substr(colon + 1), &used);
    FS_CHECK(used == text.size() - colon - 1 && *port >= 0 && *port < 65536, kInvalidArgument,
             option << " " << text << ": bad port");
  } catch (const std::logic_error&) {
    FS_FAIL(kInvalidArgument, option << " " << text << ": bad port");
  }
}

}  // namespace framescribe::http
