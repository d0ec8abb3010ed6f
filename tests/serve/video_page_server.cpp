// The job API and the page on a loopback port, with the demo model, for the browser test
// (tests/serve/web/page_test.py): prints "port N" once listening, serves until standard input
// closes (the test's end), then drains and exits 0.
//   video_page_server [--allow-path DIR]
#include <cstdio>
#include <iostream>
#include <string>

#include "framescribe/http/server.h"
#include "framescribe/serve/video_jobs.h"
#include "serve/video_test_util.h"

int main(int argc, char** argv) {
  using namespace framescribe;
  try {
    serve::ServeLimits limits;
    for (int i = 1; i + 1 < argc; i += 2)
      if (std::string(argv[i]) == "--allow-path") limits.allow_paths.push_back(argv[i + 1]);
    auto host = testing::load_demo_host();
    serve::VideoJobs jobs(*host, limits);
    http::Server server("127.0.0.1", 0);
    jobs.add_routes(server);
    server.start_api(http::ApiPolicy{});
    std::printf("port %d\n", server.port());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    server.stop();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "video_page_server: %s\n", e.what());
    return 1;
  }
}
