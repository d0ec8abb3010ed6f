// Helper for tools/soak-monitor.sh (not a test): `serve` runs the in-process RTSP test server
// until killed and prints its URL; `tiny-model DIR` writes fixture A's model directory.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "apps/tiny_model.h"
#include "monitor/rtsp_server.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "tiny-model") == 0) {
    framescribe::testing::make_tiny_model(argv[2]);
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "serve") == 0) {
    framescribe::testing::RtspTestServer server;
    std::printf("%s\n", server.url().c_str());
    std::fflush(stdout);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  std::fprintf(stderr, "usage: %s serve | tiny-model DIR\n", argv[0]);
  return 2;
}
