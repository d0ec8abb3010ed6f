// The GStreamer live source against HLS playlists served over HTTP by a loopback cpp-httplib
// server. A remote playlist that lists a `file:///` segment must not make the source read the
// local disk (GStreamer's HLS demuxer opens each segment URI with whatever element handles its
// scheme: filesrc for file://); an honest playlist of http segments still plays.
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "framescribe/decoder/gst_source.h"

namespace framescribe::decoder {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() /
           ("fs-hls-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Two seconds of test pattern, H.264 in MPEG-TS (what HLS segments are), made with ffmpeg.
bool make_segment(const fs::path& out) {
  const std::string cmd =
      "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=160x120:rate=10 -t 2 "
      "-c:v libx264 -pix_fmt yuv420p -g 10 -f mpegts '" +
      out.string() + "'";
  return std::system(cmd.c_str()) == 0 && fs::exists(out) && fs::file_size(out) > 0;
}

std::string playlist(const std::string& segment_uri) {
  return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
         "#EXTINF:2.0,\n" +
         segment_uri + "\n#EXT-X-ENDLIST\n";
}

class HlsServer {
 public:
  explicit HlsServer(const fs::path& segment) : segment_(slurp(segment)) {
    server_.Get("/local.m3u8", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(local_playlist_, "application/vnd.apple.mpegurl");
    });
    server_.Get("/honest.m3u8", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(playlist("seg0.ts"), "application/vnd.apple.mpegurl");
    });
    server_.Get("/seg0.ts", [this](const httplib::Request&, httplib::Response& res) {
      ++segment_requests_;
      res.set_content(segment_, "video/mp2t");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~HlsServer() {
    server_.stop();
    thread_.join();
  }
  void set_local_playlist(std::string text) { local_playlist_ = std::move(text); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int segment_requests() const { return segment_requests_.load(); }

 private:
  std::string segment_;
  std::string local_playlist_;
  std::atomic<int> segment_requests_{0};
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// Reads the source for `seconds`; returns the number of frames delivered.
int frames_within(GstLiveSource& src, double seconds) {
  int frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto item = src.next(std::chrono::milliseconds(100));
    if (!item) break;
    if (item->frame) ++frames;
  }
  return frames;
}

TEST(GstLiveSourceHls, ARemotePlaylistCannotMakeItReadALocalFile) {
  Dir dir;
  const fs::path seg = dir.path / "secret.ts";
  ASSERT_TRUE(make_segment(seg)) << "ffmpeg (libx264) could not make the segment";
  HlsServer server(seg);
  server.set_local_playlist(playlist("file://" + seg.string()));
  GstSourceOptions o;
  o.url = server.url("/local.m3u8");
  o.sizing.longest_edge_px = 64;
  o.stall_timeout_s = 2;
  o.backoff_initial_s = 0.2;
  o.backoff_max_s = 0.4;
  GstLiveSource src(o);
  // Two seconds of 10 fps video are on disk: without the check, frames arrive within a second.
  EXPECT_EQ(frames_within(src, 3.0), 0) << "a frame of the local file was delivered";
  const GstSourceStats st = src.stats();
  EXPECT_EQ(st.frames_received, 0);
  EXPECT_NE(st.last_error.find("refused"), std::string::npos) << st.last_error;
  EXPECT_NE(st.last_error.find("file"), std::string::npos) << st.last_error;
}

TEST(GstLiveSourceHls, AnHonestRemotePlaylistStillPlays) {
  Dir dir;
  const fs::path seg = dir.path / "seg0.ts";
  ASSERT_TRUE(make_segment(seg)) << "ffmpeg (libx264) could not make the segment";
  HlsServer server(seg);
  GstSourceOptions o;
  o.url = server.url("/honest.m3u8");
  o.sizing.longest_edge_px = 64;
  o.stall_timeout_s = 3;
  GstLiveSource src(o);
  int frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (frames < 5 && std::chrono::steady_clock::now() < deadline) {
    auto item = src.next(std::chrono::milliseconds(100));
    if (!item) break;
    if (item->frame) ++frames;
  }
  EXPECT_GE(frames, 5) << "last error: " << src.stats().last_error;
  EXPECT_GE(server.segment_requests(), 1);
  EXPECT_EQ(src.stats().last_error.find("refused"), std::string::npos) << src.stats().last_error;
}

}  // namespace
}  // namespace framescribe::decoder
