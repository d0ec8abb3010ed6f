// Helpers of the serve tests: the demo model as a ModelHost (loaded as `framescribe serve` loads
// it), a server on 127.0.0.1 port 0 over it, raw HTTP over loopback, and a PNG frame of a real
// sample clip as a data: URI.
#pragma once

#include <memory>
#include <string>

#include "framescribe/inference/engine.h"
#include "framescribe/serve/api_server.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::serve::testing {

std::string demo_model_dir();

// The demo model as the server holds it (framescribe.json's max_edge and max_tokens applied).
// `load`: false leaves the engine unloaded (host->loaded false), as while the server starts.
// `parallel` > 1: loaded as `serve --parallel N` loads it (load_host_engine: N slots on the
// step scheduler).
std::unique_ptr<ModelHost> demo_host(
    inference::LoadFormat format = inference::LoadFormat::kCheckpoint, bool load = true,
    int parallel = 1);

struct TestServer {
  std::unique_ptr<ModelHost> host;
  std::unique_ptr<ApiServer> server;
  int port() const { return server->port(); }
};
// A started server on 127.0.0.1 port 0 over `host`.
TestServer start_server(std::unique_ptr<ModelHost> host, ApiServerOptions options = {});

// A PNG of samples/shapes-demo.mp4 at `seconds` (decoded by FFmpeg), as "data:image/png;base64,".
std::string sample_frame_data_uri(double seconds);
// The same frame's PNG bytes.
std::string sample_frame_png(double seconds);
// A JPEG of the clip at `seconds`, `height_px` high (the ffmpeg command, quality as Frigate's),
// as "data:image/jpeg;base64,".
std::string sample_frame_jpeg_uri(double seconds, int height_px);

// Sends `request` (a whole HTTP/1.1 request) on a new loopback connection and reads until the
// server closes it or `timeout_ms` passes. Returns what came back ("" if nothing).
std::string raw_http(int port, const std::string& request, int timeout_ms = 5000);
// A connected loopback socket (-1 on failure).
int connect_loopback(int port);

}  // namespace framescribe::serve::testing
