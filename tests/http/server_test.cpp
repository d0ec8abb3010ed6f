// http::Server on 127.0.0.1: routes by regular expression with their captures, the reply's
// status and content type, a 404 for paths without a route, a 500 for a handler that throws, the
// request rules of http_policy.h applied (a foreign Host is 421), and a port that cannot be bound
// refused with Error(kIo).
#include <gtest/gtest.h>

#include <httplib.h>

#include <stdexcept>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/http/server.h"

namespace framescribe::http {
namespace {

TEST(HttpServer, ServesRoutesWithCapturesAndStatuses) {
  Server server("127.0.0.1", 0);
  ASSERT_GT(server.port(), 0);
  server.get("/", [](const Captures&) { return Reply{200, "text/plain", "home\n"}; });
  server.get(R"(/item/(\d+)\.txt)", [](const Captures& c) {
    return Reply{200, "text/plain", "item " + c.at(1) + " of " + c.at(0)};
  });
  server.get("/missing", [](const Captures&) { return Reply{404, {}, {}}; });
  server.get("/throws", [](const Captures&) -> Reply { throw std::runtime_error("bug"); });
  server.start();

  httplib::Client client("127.0.0.1", server.port());
  client.set_connection_timeout(2);
  auto home = client.Get("/");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_EQ(home->body, "home\n");
  EXPECT_EQ(home->get_header_value("Content-Type"), "text/plain");
  auto item = client.Get("/item/42.txt");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->body, "item 42 of /item/42.txt");
  auto missing = client.Get("/missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto unrouted = client.Get("/nothing-here");
  ASSERT_TRUE(unrouted);
  EXPECT_EQ(unrouted->status, 404);
  auto thrown = client.Get("/throws");
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->status, 500);
}

TEST(HttpServer, AppliesTheRequestRules) {
  Server server("127.0.0.1", 0);
  server.get("/", [](const Captures&) { return Reply{200, "text/plain", "ok"}; });
  server.start();
  httplib::Client client("127.0.0.1", server.port());
  client.set_connection_timeout(2);
  auto foreign =
      client.Get("/", {{"Host", "rebind.evil.example:" + std::to_string(server.port())}});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 421);
  auto post = client.Post("/", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
}

TEST(HttpServer, AnAddressItCannotBindIsAnIoError) {
  try {
    Server server("203.0.113.1", 8080);  // TEST-NET-3: not an address of this machine
    FAIL() << "bound to " << server.host() << ":" << server.port();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_EQ(std::string(e.what()), "203.0.113.1:8080: cannot listen there");
  }
}

}  // namespace
}  // namespace framescribe::http
