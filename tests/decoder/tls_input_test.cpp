// https video inputs verify the server's certificate (FFmpeg's tls protocol does not by
// default): a server with a certificate nobody vouches for is refused, and the same server is
// read once its certificate is the trusted one (SourceOptions::tls_ca_file).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "decoder/video_clips.h"
#include "framescribe/core/error.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "inference/test_files.h"

namespace framescribe::decoder {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// An https server on 127.0.0.1 with a fresh self-signed certificate for that address.
class TlsServer {
 public:
  explicit TlsServer(const fs::path& dir) : cert_(dir / "cert.pem"), key_(dir / "key.pem") {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
        key_.string() + "' -out '" + cert_.string() + "' >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
    if (!ok_) return;
    server_ = std::make_unique<httplib::SSLServer>(cert_.c_str(), key_.c_str());
    ok_ = server_->is_valid();
    if (!ok_) return;
    port_ = server_->bind_to_any_port("127.0.0.1");
    ok_ = port_ > 0;
  }
  ~TlsServer() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  void start() {
    // bind_to_any_port already listens: a connection made before the thread runs waits.
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  bool ok() const { return ok_; }
  httplib::SSLServer& server() { return *server_; }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  const fs::path& cert() const { return cert_; }

 private:
  fs::path cert_, key_;
  bool ok_ = false;
  int port_ = -1;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
};

TEST(TlsInputs, AnUnverifiableCertificateIsRefusedAndATrustedOneIsRead) {
  testing::TempDir dir;
  TlsServer tls(dir.path());
  ASSERT_TRUE(tls.ok()) << "openssl or the TLS server could not be set up";
  std::string error;
  const auto clip = testing::make_clip(
      "tls.ts", "-f lavfi -i testsrc=size=64x48:rate=10 -t 1 -c:v mpeg2video", &error);
  ASSERT_TRUE(clip.has_value()) << error;
  const std::string bytes = slurp(*clip);
  tls.server().Get("/clip.ts", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(bytes, "video/mp2t");
  });
  tls.start();

  // Self-signed: FFmpeg's default (no verification) would read it; we must not.
  try {
    auto src = FfmpegSource::open(tls.url("/clip.ts"));
    int n = 0;
    while (src->next()) ++n;
    FAIL() << "read " << n << " frames from a server whose certificate nobody vouches for";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }

  // The same server, its certificate trusted: read in full.
  SourceOptions trusted;
  trusted.tls_ca_file = tls.cert().string();
  auto src = FfmpegSource::open(tls.url("/clip.ts"), trusted);
  int n = 0;
  while (src->next()) ++n;
  EXPECT_EQ(n, 10);

  // Verification off on purpose (SourceOptions::tls_verify = false): read too.
  SourceOptions insecure;
  insecure.tls_verify = false;
  auto src2 = FfmpegSource::open(tls.url("/clip.ts"), insecure);
  int m = 0;
  while (src2->next()) ++m;
  EXPECT_EQ(m, 10);
}

}  // namespace
}  // namespace framescribe::decoder
