// Untrusted video inputs (label decoder): the one input check (decoder::check_video_input), the
// protocols FFmpeg may use for each kind of input, demuxers that would open other inputs, the
// pixel limit, and frames written through a temporary renamed over a pre-placed symlink.
// Crafted files (an HLS playlist and a concat list named .mp4, a 12000x12000 PNG) and a loopback
// cpp-httplib server on 127.0.0.1.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <string>
#include <vector>

#include "decoder/image_test_util.h"
#include "decoder/video_clips.h"
#include "framescribe/core/error.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/image_writer.h"
#include "framescribe/decoder/video_input.h"
#include "inference/test_files.h"

namespace framescribe::decoder {
namespace {

namespace fs = std::filesystem;

// The error opening `input` throws (code and message), or an empty message if it opens.
struct Failure {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};
Failure open_error(const std::string& input, const SourceOptions& options = {}) {
  try {
    auto src = FfmpegSource::open(input, options);
    while (src->next()) {
    }
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A 1 s MPEG-TS clip (what HLS segments and concat entries point at).
fs::path segment() {
  std::string error;
  const auto p = testing::make_clip(
      "seg.ts", "-f lavfi -i testsrc=size=64x48:rate=10 -t 1 -c:v mpeg2video", &error);
  EXPECT_TRUE(p.has_value()) << error;
  return p.value_or(fs::path());
}

TEST(VideoInputCheck, AcceptsLocalPathsFileUrlsAndHttp) {
  VideoInput in = check_video_input("clips/a.mp4");
  EXPECT_EQ(in.kind, VideoInputKind::kFile);
  EXPECT_EQ(in.location, "clips/a.mp4");
  in = check_video_input("/data/x:y.mp4");  // a ':' after the first '/' is just a name
  EXPECT_EQ(in.kind, VideoInputKind::kFile);
  in = check_video_input("./a:b.mp4");
  EXPECT_EQ(in.location, "./a:b.mp4");
  in = check_video_input("file:///data/a.mp4");
  EXPECT_EQ(in.kind, VideoInputKind::kFile);
  EXPECT_EQ(in.location, "/data/a.mp4");
  in = check_video_input("file://localhost/data/a.mp4");
  EXPECT_EQ(in.location, "/data/a.mp4");
  in = check_video_input("HTTPS://u:secret@host/v.mp4?token=abc");
  EXPECT_EQ(in.kind, VideoInputKind::kHttp);
  EXPECT_EQ(in.location, "HTTPS://u:secret@host/v.mp4?token=abc");
  EXPECT_EQ(in.display, "HTTPS://host/v.mp4?token=***");
  EXPECT_STREQ(protocol_whitelist(VideoInputKind::kFile), "file");
  EXPECT_STREQ(protocol_whitelist(VideoInputKind::kHttp), "http,https,tls,tcp,crypto,httpproxy");
}

TEST(VideoInputCheck, RefusesOtherProtocolsWithAClearMessage) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"tcp://127.0.0.1:9", "URL scheme 'tcp'"},
      {"udp://127.0.0.1:9", "URL scheme 'udp'"},
      {"rtsp://u:secret@cam/live?token=secret", "framescribe monitor"},
      {"ftp://u:secret@host/a.mp4", "URL scheme 'ftp'"},
      {"s3://bucket/a.mp4", "URL scheme 's3'"},
      {"concat:a.mp4|b.mp4", "protocol"},
      {"concat:file:///etc/passwd|file:///etc/passwd", "protocol"},
      {"subfile,,0,100,:/etc/passwd", "protocol"},
      {"pipe:0", "protocol"},
      {"data:video/mp4;base64,AAAA", "protocol"},
      {"crypto+http://host/a.ts", "URL scheme 'crypto+http'"},
      {"file://otherhost/a.mp4", "local absolute path"},
      {"1http://host/a.mp4", "protocol"},
      {"/data/a://b.mp4", "malformed"},
      {"https:///a.mp4", "no host"}};
  for (const auto& [input, says] : refused) {
    try {
      (void)check_video_input(input);
      ADD_FAILURE() << input << ": accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_TRUE(e.code() == ErrorCode::kUnsupported || e.code() == ErrorCode::kInvalidArgument)
          << m;
      EXPECT_NE(m.find(says), std::string::npos) << input << " -> " << m;
      EXPECT_EQ(m.find("secret"), std::string::npos) << m;
    }
  }
  for (const std::string& bad :
       {std::string(), std::string("a.mp4\nb.mp4"), std::string("a\x1b.mp4")}) {
    EXPECT_THROW((void)check_video_input(bad), Error) << bad;
  }
  // FfmpegSource::open runs the same check before FFmpeg sees the name.
  const Failure f = open_error("concat:" + segment().string() + "|" + segment().string());
  EXPECT_EQ(f.code, ErrorCode::kUnsupported);
  EXPECT_NE(f.message.find("protocol"), std::string::npos) << f.message;
}

TEST(VideoInputCheck, RedactsUrlsInFreeText) {
  EXPECT_EQ(redact_urls_in_text("Opening 'https://u:pw@h/a.m3u8?sig=1' for reading"),
            "Opening 'https://h/a.m3u8?sig=***' for reading");  // the closing quote stays
  EXPECT_EQ(redact_urls_in_text("no url here"), "no url here");
  // Found by video_input_fuzzer: a URL that is not at the start of an input, one without a
  // proper scheme, and a user-info holding a quote.
  for (const std::string& text : {std::string("Opening 'http://u:pw123456@h/a.m3u8?k=v' now"),
                                  std::string("httoutps:/://ures:pw123456@exaep:smpl//n,,0,10"),
                                  std::string("x 'http://u::pw123456'6@h/a' y")}) {
    EXPECT_EQ(redact_urls_in_text(text).find("pw123456"), std::string::npos) << text;
    try {
      (void)check_video_input(text);
      ADD_FAILURE() << text << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("pw123456"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(redact_urls_in_text("a http://u:p@x/ b tcp://h:1?k=v"),
            "a http://x/ b tcp://h:1?k=***");
}

TEST(NestedInputs, FormatsThatOpenOtherInputsAreKnown) {
  for (const char* f : {"hls", "dash", "concat", "imf", "sdp", "rtsp", "sap", "rtp"})
    EXPECT_TRUE(nested_input_format(f)) << f;
  for (const char* f : {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts", "image2", "png_pipe"})
    EXPECT_FALSE(nested_input_format(f)) << f;
}

// The case: a file named .mp4 that is an HLS playlist listing other local media.
TEST(NestedInputs, AnHlsPlaylistNamedMp4IsRefusedNamingTheFormat) {
  testing::TempDir dir;
  const fs::path seg = segment();
  std::ofstream(dir.path() / "x.mp4") << "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n"
                                      << seg.string() << "\n#EXT-X-ENDLIST\n";
  const Failure f = open_error((dir.path() / "x.mp4").string());
  EXPECT_EQ(f.code, ErrorCode::kUnsupported) << f.message;
  EXPECT_NE(f.message.find("format 'hls'"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("x.mp4"), std::string::npos) << f.message;
  // The playlist itself is valid: asked for explicitly, it plays the segment it lists.
  SourceOptions allow;
  allow.allow_nested_inputs = true;
  auto src = FfmpegSource::open((dir.path() / "x.mp4").string(), allow);
  EXPECT_TRUE(src->next().has_value());
}

TEST(NestedInputs, AConcatListIsRefused) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "list.mp4")
      << "ffconcat version 1.0\nfile '" << segment().string() << "'\n";
  const Failure f = open_error((dir.path() / "list.mp4").string());
  EXPECT_EQ(f.code, ErrorCode::kUnsupported) << f.message;
  EXPECT_NE(f.message.find("format 'concat'"), std::string::npos) << f.message;
}

class HttpInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    seg_ = slurp(segment());
    auto& s = http_.server();
    s.Get("/seg.ts", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(seg_, "video/mp2t");
    });
    s.Get("/remote.m3u8", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg.ts\n#EXT-X-ENDLIST\n",
                      "application/vnd.apple.mpegurl");
    });
    // A playlist on the server that points at a file of the machine reading it.
    s.Get("/local.m3u8", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://" +
                          segment().string() + "\n#EXT-X-ENDLIST\n",
                      "application/vnd.apple.mpegurl");
    });
    s.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file://" + segment().string());
    });
    s.Get("/concat.txt", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ffconcat version 1.0\nfile 'seg.ts'\n", "text/plain");
    });
    http_.start();
  }
  std::string seg_;
  testing::LocalHttpServer http_;
};

TEST_F(HttpInputs, AClipOverHttpIsRead) {
  auto src = FfmpegSource::open(http_.url("/seg.ts"));
  int n = 0;
  while (src->next()) ++n;
  EXPECT_EQ(n, 10);
}

TEST_F(HttpInputs, HttpPlaylistsStayOnHttp) {
  // An HLS playlist from an http URL is read, its segments over http ...
  auto src = FfmpegSource::open(http_.url("/remote.m3u8"));
  EXPECT_TRUE(src->next().has_value());
  // ... but a segment it names on the local disk is not opened (protocol_whitelist).
  bool got_frame = false;
  try {
    auto local = FfmpegSource::open(http_.url("/local.m3u8"));
    got_frame = local->next().has_value();
  } catch (const Error&) {
  }
  EXPECT_FALSE(got_frame);
  // A redirect to file:// is not followed.
  EXPECT_FALSE(open_error(http_.url("/to-file")).message.empty());
  // Other nested formats are refused from URLs too.
  const Failure f = open_error(http_.url("/concat.txt"));
  EXPECT_NE(f.message.find("format 'concat'"), std::string::npos) << f.message;
}

TEST(PixelLimit, TheDefaultIsTheStillImageLimit) {
  EXPECT_EQ(SourceOptions{}.max_pixels, 8192ll * 8192);
}

TEST(PixelLimit, ALargerVideoIsRefusedNamingItsSizeAndTheLimit) {
  std::string error;
  const auto clip = testing::make_clip(
      "px320.mkv", "-f lavfi -i testsrc=size=320x240:rate=10 -t 0.5 -c:v mpeg2video", &error);
  ASSERT_TRUE(clip) << error;
  SourceOptions o;
  o.max_pixels = 300 * 200;
  const Failure f = open_error(clip->string(), o);
  EXPECT_EQ(f.code, ErrorCode::kUnsupported);
  EXPECT_NE(f.message.find("320x240"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("60000"), std::string::npos) << f.message;
  o.max_pixels = 320 * 240;
  EXPECT_EQ(open_error(clip->string(), o).message, "");
}

// The case: a small PNG of a huge picture (12000x12000) opened as a video. Only the
// decoder reads a PNG's size; the limit stops it before it allocates the picture, and the error
// still names the size (a 1200x1000 PNG against a limit of 1000x1000 here, to stay fast; the
// default limit is the same code path).
TEST(PixelLimit, APngOverTheLimitIsRefusedBeforeItIsDecoded) {
  std::string error;
  const auto png =
      testing::make_clip("big.png", "-f lavfi -i color=c=blue:size=1200x1000 -frames:v 1", &error);
  ASSERT_TRUE(png) << error;
  SourceOptions o;
  o.max_pixels = 1000 * 1000;
  const Failure f = open_error(png->string(), o);
  EXPECT_EQ(f.code, ErrorCode::kUnsupported) << f.message;
  EXPECT_NE(f.message.find("1200x1000"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("limit of 1000000"), std::string::npos) << f.message;
  o.max_pixels = 1200 * 1000;
  EXPECT_EQ(open_error(png->string(), o).message, "");
}

TEST(AtomicWrite, ASymlinkAtTheTargetIsReplacedNotWrittenThrough) {
  testing::TempDir dir;
  const fs::path victim = dir.path() / "victim.txt";
  std::ofstream(victim) << "keep";
  const fs::path target = dir.path() / "frame.png";
  fs::create_symlink(victim, target);
  const std::vector<std::uint8_t> rgb(16 * 16 * 3, 200);
  core::ImageView view{rgb.data(), 16, 16, 16 * 3, core::PixelFormat::kRgb8};
  write_png(target, view);
  EXPECT_EQ(slurp(victim), "keep");
  EXPECT_FALSE(fs::is_symlink(target));
  EXPECT_EQ(slurp(target).substr(1, 3), "PNG");
  // No temporary is left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2);
}

}  // namespace
}  // namespace framescribe::decoder
