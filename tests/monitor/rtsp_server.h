// An in-process RTSP server for tests (gst-rtsp-server on 127.0.0.1): an encoded test pattern
// (videotestsrc ! x264enc tune=zerolatency ! rtph264pay name=pay0) at /test. Port 0 picks a
// free port; stop() kills it (every client connection closed at once) and start() brings it
// back on the same port.
//
//   testing::RtspTestServer server;          // started
//   std::string url = server.url();          // rtsp://127.0.0.1:PORT/test
//   server.stop();  ...  server.start();     // same port
//
// Owns its GMainContext, loop thread and server. Not thread-safe: one test thread drives it.
#pragma once

#include <string>
#include <thread>

#include <gst/rtsp-server/rtsp-server.h>

namespace framescribe::testing {

class RtspTestServer {
 public:
  explicit RtspTestServer(int fps = 10, int width = 320, int height = 240);
  ~RtspTestServer();
  void start();
  void stop();
  int port() const { return port_; }
  std::string url(const std::string& userinfo = {}) const;

 private:
  int fps_, width_, height_;
  int port_ = 0;
  GMainContext* ctx_ = nullptr;
  GMainLoop* loop_ = nullptr;
  GstRTSPServer* server_ = nullptr;
  guint source_id_ = 0;
  std::thread thread_;
};

}  // namespace framescribe::testing
