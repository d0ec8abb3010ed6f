#include "framescribe/http/server.h"
#include "openapi.h"

namespace framescribe::serve {

void add_openapi_route(http::Server& server) {
  server.route("GET", "/openapi.json", [](const http::Request&) {
    http::Reply r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = std::string(openapi_document());
    return r;
  });
}

}  // namespace framescribe::serve
