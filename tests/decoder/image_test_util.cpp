#include "decoder/image_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace framescribe::testing {

std::vector<std::uint8_t> quadrants_rgb(int w, int h) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const bool right = x >= w / 2, bottom = y >= h / 2;
      const Rgb c = bottom ? (right ? kBottomRight : kBottomLeft) : (right ? kTopRight : kTopLeft);
      std::uint8_t* p = &px[(static_cast<std::size_t>(y) * w + x) * 3];
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
  }
  return px;
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::vector<std::uint8_t> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool ffmpeg_encode(const std::vector<std::uint8_t>& pixels, int w, int h,
                   const std::string& pix_fmt, const std::filesystem::path& out,
                   const std::string& extra) {
  const std::filesystem::path raw = out.string() + ".raw";
  write_bytes(raw, pixels);
  const std::string cmd = "ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo -pix_fmt " +
                          pix_fmt + " -s " + std::to_string(w) + "x" + std::to_string(h) + " -i '" +
                          raw.string() + "' -frames:v 1 " + extra + " '" + out.string() + "'";
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove(raw);
  EXPECT_EQ(rc, 0) << cmd;
  return rc == 0 && std::filesystem::exists(out);
}

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = bytes[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

LocalHttpServer::LocalHttpServer(std::chrono::seconds lifetime)
    : server_(std::make_unique<httplib::Server>()), lifetime_(lifetime) {
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
}

void LocalHttpServer::start() {
  port_ = server_->bind_to_any_port("127.0.0.1");
  ASSERT_GT(port_, 0) << "cannot bind a port on 127.0.0.1";
  // Already listening: connections queue until listen_after_bind accepts them.
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  watchdog_ = std::thread([this] {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, lifetime_, [this] { return done_; });
    stopping_ = true;
    server_->stop();
  });
}

LocalHttpServer::~LocalHttpServer() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  stopping_ = true;
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

std::string LocalHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

}  // namespace framescribe::testing
