// The video_url expander on its own: summarize's sampling and labels, the source rules (paths
// only under --allow-path, data: URIs through a private temporary file that is removed, refused
// schemes), the frame limits, and the errors naming the part.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "framescribe/core/frame.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/video_part.h"
#include "serve/video_test_util.h"

namespace framescribe::testing {
namespace {

namespace fs = std::filesystem;

class VideoPartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = load_demo_host().release(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  serve::ServeLimits limits() const {
    serve::ServeLimits l;
    l.allow_paths = {(fs::path(FS_SOURCE_DIR) / "samples").string()};
    return l;
  }
  static serve::RequestPart part(const std::string& source) {
    serve::RequestPart p;
    p.kind = serve::RequestPart::Kind::kVideo;
    p.source = source;
    p.where = "messages[0].content[1]";
    return p;
  }
  // The ApiError's status and message of expanding `p` (0 when it succeeds).
  std::pair<int, std::string> error_of(const serve::RequestPart& p, serve::ServeLimits l) {
    try {
      (void)serve::make_video_expander(*host_, l)(p, {});
      return {0, ""};
    } catch (const serve::ApiError& e) {
      return {e.status(), e.what()};
    }
  }
  static serve::ModelHost* host_;
};
serve::ModelHost* VideoPartTest::host_ = nullptr;

TEST_F(VideoPartTest, SamplesAsSummarizeAndLabelsAsItsWindows) {
  const serve::VideoFrames v =
      serve::make_video_expander(*host_, limits())(part(sample_clip().string()), {});
  // The demo model's framescribe.json: 1 fps, 64 px frames; the clip is 16 s.
  ASSERT_EQ(v.frames.size(), 16u);
  ASSERT_EQ(v.labels.size(), 16u);
  ASSERT_EQ(v.pts_ns.size(), 16u);
  for (std::size_t k = 0; k < v.frames.size(); ++k) {
    EXPECT_EQ(v.pts_ns[k], static_cast<std::int64_t>(k) * 1'000'000'000);
    EXPECT_EQ(v.labels[k], pipeline::frame_label(v.pts_ns[k]));
    ASSERT_NE(v.frames[k], nullptr);
    EXPECT_LE(std::max(v.frames[k]->width_px, v.frames[k]->height_px), 64);
    EXPECT_EQ(v.frames[k]->width_px % 16, 0);
  }
  EXPECT_EQ(v.labels[5], "[00:05.0]");
  EXPECT_NEAR(v.duration_s, 16.0, 0.5);
}

TEST_F(VideoPartTest, PartOptionsWin) {
  serve::RequestPart p = part(sample_clip().string());
  p.video.fps = 2;
  p.video.max_edge = 32;
  serve::VideoFrames v = serve::make_video_expander(*host_, limits())(p, {});
  EXPECT_EQ(v.frames.size(), 32u);
  EXPECT_EQ(v.pts_ns[1], 500'000'000);
  EXPECT_LE(std::max(v.frames[0]->width_px, v.frames[0]->height_px), 32);
  // max_frames spreads the frames over the clip rather than taking the first ones.
  p = part(sample_clip().string());
  p.video.max_frames = 4;
  v = serve::make_video_expander(*host_, limits())(p, {});
  ASSERT_EQ(v.frames.size(), 4u);
  EXPECT_GE(v.pts_ns.back(), 10'000'000'000) << "the last of 4 frames is near the clip's end";
}

TEST_F(VideoPartTest, DataUriThroughAPrivateFileThatIsRemoved) {
  std::ifstream in(sample_clip(), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  // Base64 of the clip, written here (not by the code under test).
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string raw = bytes.str();
  std::string b64;
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(raw[i]) << 16) |
                       (i + 1 < raw.size() ? static_cast<unsigned char>(raw[i + 1]) << 8 : 0) |
                       (i + 2 < raw.size() ? static_cast<unsigned char>(raw[i + 2]) : 0);
    b64 += kAlphabet[(n >> 18) & 63];
    b64 += kAlphabet[(n >> 12) & 63];
    b64 += i + 1 < raw.size() ? kAlphabet[(n >> 6) & 63] : '=';
    b64 += i + 2 < raw.size() ? kAlphabet[n & 63] : '=';
  }
  auto temp_files = [] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
      n += e.path().filename().string().rfind("framescribe-video-", 0) == 0;
    return n;
  };
  const int before = temp_files();
  serve::ServeLimits none;  // no --allow-path: data URIs need none
  const serve::VideoFrames v =
      serve::make_video_expander(*host_, none)(part("data:video/mp4;base64," + b64), {});
  EXPECT_EQ(v.frames.size(), 16u);
  EXPECT_EQ(temp_files(), before) << "the temporary file is removed";
  // Too large for the limit: 413 before decoding.
  none.max_body_bytes = 1000;
  EXPECT_EQ(error_of(part("data:video/mp4;base64," + b64), none).first, 413);
  // Bad base64, not a video, not data:video.
  EXPECT_EQ(error_of(part("data:video/mp4;base64,@@@@"), {}).first, 400);
  EXPECT_EQ(error_of(part("data:video/mp4;base64,aGVsbG8gd29ybGQ="), {}).first, 400);
  EXPECT_EQ(error_of(part("data:image/png;base64,aGVsbG8="), {}).first, 400);
  EXPECT_EQ(temp_files(), before);
}

TEST_F(VideoPartTest, SourcesOutsideTheRulesAreRefused) {
  auto [status, message] = error_of(part(sample_clip().string()), serve::ServeLimits{});
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("--allow-path"), std::string::npos) << message;
  std::tie(status, message) = error_of(part("/etc/passwd"), limits());
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("messages[0].content[1]"), std::string::npos) << message;
  // A path that climbs out of the allowed directory, and a prefix that is not a parent.
  EXPECT_EQ(
      error_of(part((fs::path(FS_SOURCE_DIR) / "samples/../README.md").string()), limits()).first,
      400);
  serve::ServeLimits prefix;
  prefix.allow_paths = {(fs::path(FS_SOURCE_DIR) / "sam").string()};
  EXPECT_EQ(error_of(part(sample_clip().string()), prefix).first, 400);
  for (const char* s : {"rtsp://127.0.0.1/live", "concat:a.mp4|b.mp4", "pipe:0", "-", ""})
    EXPECT_EQ(error_of(part(s), limits()).first, 400) << s;
  EXPECT_EQ(error_of(part(sample_clip("missing.mp4").string()), limits()).first, 400);
  // A file that is not a video.
  EXPECT_EQ(
      error_of(part((fs::path(FS_SOURCE_DIR) / "samples/README.md").string()), limits()).first,
      400);
}

TEST_F(VideoPartTest, FrameLimits) {
  serve::ServeLimits l = limits();
  l.max_images = 10;  // the clip gives 16 at 1 fps
  auto [status, message] = error_of(part(sample_clip().string()), l);
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("max_frames"), std::string::npos) << message;
  serve::RequestPart p = part(sample_clip().string());
  p.video.max_frames = 10;
  EXPECT_EQ(serve::make_video_expander(*host_, l)(p, {}).frames.size(), 10u);
  p.video.max_frames = 11;
  EXPECT_EQ(error_of(p, l).first, 400);
  p = part(sample_clip().string());
  p.video.fps = 0;
  EXPECT_EQ(error_of(p, l).first, 400);
  p.video.fps = 1;
  p.video.max_edge = 100;  // not a multiple of 16
  EXPECT_EQ(error_of(p, l).first, 400);
  // Cancelled while decoding: an empty result.
  EXPECT_TRUE(serve::make_video_expander(*host_, limits())(part(sample_clip().string()), [] {
                return true;
              }).frames.empty());
}

}  // namespace
}  // namespace framescribe::testing
