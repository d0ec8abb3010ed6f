// Test helpers for still images: synthetic pictures encoded with the ffmpeg command, a plain
// base64 encoder (independent of the loader's decoder) and a bounded local HTTP server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace framescribe::testing {

struct Rgb {
  std::uint8_t r, g, b;
};

// A w x h picture of four flat quadrants: top-left red, top-right green, bottom-left blue,
// bottom-right white (easy to tell apart after lossy coding and after rotations).
std::vector<std::uint8_t> quadrants_rgb(int w, int h);
inline constexpr Rgb kTopLeft{255, 0, 0}, kTopRight{0, 255, 0}, kBottomLeft{0, 0, 255},
    kBottomRight{255, 255, 255};

// Encodes raw pixels (`pix_fmt` "rgb24" or "rgba") with the ffmpeg command into `out`; the
// output format follows the extension; `extra` goes before the output name ("-c:v libwebp").
// Fails the test (and returns false) if ffmpeg fails.
bool ffmpeg_encode(const std::vector<std::uint8_t>& pixels, int w, int h,
                   const std::string& pix_fmt, const std::filesystem::path& out,
                   const std::string& extra = "");

void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> file_bytes(const std::filesystem::path& path);

// RFC 4648 base64 with '=' padding.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);

// A cpp-httplib server on 127.0.0.1 and an ephemeral port, run on its own thread. It stops in
// the destructor, or by itself after `lifetime` whatever the test does.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(std::chrono::seconds lifetime = std::chrono::seconds(120));
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  httplib::Server& server() { return *server_; }
  // Binds and starts serving; call after registering the handlers.
  void start();
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  // Set when the server is stopping: slow handlers poll it and give up.
  bool stopping() const { return stopping_.load(); }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::chrono::seconds lifetime_;
  int port_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread listener_, watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

}  // namespace framescribe::testing
