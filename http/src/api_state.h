// Internal to the http module: the routes and policy of an API server (server.h's ApiState).
#pragma once

#include <atomic>
#include <regex>
#include <string>
#include <vector>

#include "framescribe/http/server.h"

namespace framescribe::http {

struct Server::ApiState {
  struct Route {
    std::string method;  // "GET", "POST", ...; get() routes are "GET"
    std::regex pattern;
    std::size_t body_limit = 0;  // 0: the policy's
  };
  std::vector<Route> routes;
  ApiPolicy policy;
  std::atomic<int> connections{0};
};

}  // namespace framescribe::http
