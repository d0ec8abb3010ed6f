#include "serve/serve_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "decoder/image_test_util.h"  // base64_encode
#include "framescribe/decoder/image_writer.h"
#include "framescribe/decoder/video_frame_source.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::serve::testing {

std::string demo_model_dir() {
  return std::string(FS_SOURCE_DIR) + "/samples/models/framescribe-demo";
}

std::unique_ptr<ModelHost> demo_host(inference::LoadFormat format, bool load, int parallel) {
  auto host = std::make_unique<ModelHost>();
  const std::string dir = demo_model_dir();
  host->dir = dir;
  host->name = "framescribe-demo";
  host->config = inference::load_model_config(dir);
  host->tokenizer = std::make_unique<inference::Tokenizer>(
      inference::Tokenizer::load(inference::find_tokenizer(dir)));
  std::ifstream f(dir + "/framescribe.json");
  const nlohmann::json rec = nlohmann::json::parse(f);
  host->image_max_edge = rec.at("max_edge").get<int>();
  host->default_max_edge = host->image_max_edge;
  host->default_max_tokens = rec.at("max_tokens").get<int>();
  host->context_tokens = host->config.text.max_context;
  host->choice.load_format = format == inference::LoadFormat::kDummy ? "dummy" : "checkpoint";
  if (load && parallel > 1) {
    inference::EngineOptions eo;
    eo.load_format = format;
    eo.n_threads = 2;
    load_host_engine(*host, eo, parallel);
  } else if (load) {
    inference::EngineOptions eo;
    eo.load_format = format;
    eo.n_threads = 2;
    host->engine = inference::load_engine(dir, eo);
    host->context_tokens = host->engine->max_context();
    host->loaded = true;
  }
  return host;
}

TestServer start_server(std::unique_ptr<ModelHost> host, ApiServerOptions options) {
  TestServer t;
  t.host = std::move(host);
  options.host = "127.0.0.1";
  options.port = 0;
  t.server = std::make_unique<ApiServer>(*t.host, std::move(options));
  t.server->start();
  return t;
}

std::string sample_frame_png(double seconds) {
  decoder::SamplingOptions sampling;
  sampling.start_ns = static_cast<std::int64_t>(seconds * 1e9);
  decoder::OutputSizing sizing;
  sizing.longest_edge_px = 256;
  decoder::VideoFrameSource src(std::string(FS_SOURCE_DIR) + "/samples/shapes-demo.mp4", {},
                                sampling, sizing);
  std::optional<core::Frame> frame = src.next();
  if (!frame) return {};
  const std::vector<std::uint8_t> png = decoder::encode_png(frame->image->view());
  return std::string(png.begin(), png.end());
}

std::string sample_frame_data_uri(double seconds) {
  const std::string png = sample_frame_png(seconds);
  return "data:image/png;base64," +
         framescribe::testing::base64_encode(std::vector<std::uint8_t>(png.begin(), png.end()));
}

std::string sample_frame_jpeg_uri(double seconds, int height_px) {
  const std::string out =
      std::filesystem::temp_directory_path() / ("serve-frame-" + std::to_string(getpid()) + ".jpg");
  const std::string cmd =
      "ffmpeg -nostdin -loglevel error -y -ss " + std::to_string(seconds) + " -i '" +
      FS_SOURCE_DIR +
      "/samples/shapes-demo.mp4' -frames:v 1 -vf scale=-2:" + std::to_string(height_px) +
      " -q:v 1 '" + out + "'";
  if (std::system(cmd.c_str()) != 0) return {};
  const std::vector<std::uint8_t> bytes = framescribe::testing::file_bytes(out);
  std::filesystem::remove(out);
  return "data:image/jpeg;base64," + framescribe::testing::base64_encode(bytes);
}

int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
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

std::string raw_http(int port, const std::string& request, int timeout_ms) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace framescribe::serve::testing
