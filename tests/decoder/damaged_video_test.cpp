// Damaged and hostile inputs: the frames before the damage plus a warning, or a clear error;
// never a crash or a hang (each test has a ctest time limit; the asan preset runs them too).
// Also custom I/O (a MemoryReader) and the stop request on a stalled network read.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "decoder/video_clips.h"
#include "framescribe/core/error.h"
#include "inference/test_files.h"

namespace framescribe::testing {
namespace {

constexpr int kFrames = 50;

std::filesystem::path base_clip(const std::string& file, const std::string& extra) {
  std::string err;
  auto p = make_clip(file,
                     "-f lavfi -i \"" + pattern(64, 48, 25, 2.0) +
                         "\" -c:v libx264 -pix_fmt yuv420p -g 10 " + extra,
                     &err);
  EXPECT_TRUE(p) << err;
  return p ? *p : std::filesystem::path{};
}

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Whatever comes out of a damaged file must be a clean prefix-or-subset of the clip: frames in
// time order, each picture the frame its index says.
void expect_consistent(const Decoded& d) {
  for (std::size_t i = 0; i < d.frames.size(); ++i) {
    if (i) {
      EXPECT_GT(d.frames[i].pts_ns, d.frames[i - 1].pts_ns);
    }
    EXPECT_EQ(d.frames[i].image->width_px(), 64);
  }
}

Error open_error(const std::filesystem::path& path) {
  try {
    decoder::FfmpegSource::open(path.string());
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << path << " opened but should not";
  return Error(ErrorCode::kInternal, "opened");
}

TEST(UnreadableInputs, ClearErrorsNamingTheFile) {
  TempDir dir;
  write_file(dir / "empty.mp4", {});
  Error e = open_error(dir / "empty.mp4");
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("empty.mp4: the file is empty"), std::string::npos)
      << e.what();

  e = open_error(dir / "missing.mp4");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_NE(std::string(e.what()).find("missing.mp4: no such file"), std::string::npos) << e.what();

  std::mt19937 rng(1234);
  std::vector<std::uint8_t> noise(64 * 1024);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  write_file(dir / "noise.mp4", noise);
  e = open_error(dir / "noise.mp4");
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("noise.mp4"), std::string::npos) << e.what();
}

TEST(UnreadableInputs, AudioOnlyFileSaysThereIsNoVideo) {
  std::string err;
  auto clip = make_clip("audio.m4a", "-f lavfi -i sine=frequency=440:duration=1 -c:a aac", &err);
  ASSERT_TRUE(clip) << err;
  Error e = open_error(*clip);
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("no video stream (streams: audio)"), std::string::npos)
      << e.what();
}

TEST(DamagedInputs, WrongExtensionIsProbedByContent) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  auto clip = base_clip("ext.mp4", "");
  ASSERT_FALSE(clip.empty());
  const auto renamed = clip_dir() / "really_mp4.avi";
  std::filesystem::copy_file(clip, renamed, std::filesystem::copy_options::overwrite_existing);
  Decoded d = decode(renamed);
  EXPECT_EQ(d.info.container, "QuickTime / MOV");
  ASSERT_EQ(d.frames.size(), static_cast<std::size_t>(kFrames));
  EXPECT_EQ(read_frame_number(*d.frames[49].image), 49);
}

struct Truncation {
  const char* container;
  const char* extra;
};

class Truncated : public ::testing::TestWithParam<Truncation> {};

TEST_P(Truncated, GiveTheFramesBeforeTheCutAndWarn) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  const Truncation& t = GetParam();
  auto clip = base_clip(std::string("trunc_src.") + t.container, t.extra);
  ASSERT_FALSE(clip.empty());
  const std::vector<std::uint8_t> bytes = read_bytes(clip);
  std::size_t previous = 0;
  for (int percent : {10, 50, 90}) {
    SCOPED_TRACE(std::string(t.container) + " cut at " + std::to_string(percent) + "%");
    const auto cut = clip_dir() / ("cut" + std::to_string(percent) + "." + t.container);
    write_file(cut, {bytes.begin(),
                     bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() * percent / 100)});
    LogCapture log;
    Decoded d;
    try {
      d = decode(cut);
    } catch (const Error& e) {
      // Only acceptable when too little is left to read a header.
      EXPECT_EQ(percent, 10) << e.what();
      continue;
    }
    EXPECT_LT(d.frames.size(), static_cast<std::size_t>(kFrames));
    EXPECT_GE(d.frames.size(), previous) << "a longer prefix cannot give fewer frames";
    previous = d.frames.size();
    // The first GOP lies well before the 90% cut (at 10/50% an mp4's up-front index may leave
    // next to no samples; ffmpeg itself decodes the same few frames).
    if (percent == 90) {
      EXPECT_GE(d.frames.size(), 10u);
    }
    expect_consistent(d);
    // The frames that come out are the clip's own, in order, with their true timestamps (B-frames
    // whose references were cut off may be missing just before the cut).
    int last_seen = -1;
    for (std::size_t i = 0; i < d.frames.size(); ++i) {
      const int n = read_frame_number(*d.frames[i].image);
      if (i < 10) {
        EXPECT_EQ(n, static_cast<int>(i)) << "the first GOP is intact";
      }
      EXPECT_GT(n, last_seen) << i;
      EXPECT_EQ(d.frames[i].pts_ns, n * 40'000'000LL) << i;
      last_seen = n;
    }
    if (std::string(t.container) != "ts") {
      // MPEG-TS announces no length, so a cut one cannot be told from a short one.
      EXPECT_TRUE(d.stats.ended_early);
      EXPECT_TRUE(log.contains("truncated")) << "a warning must say the input was cut";
    }
  }
}

// mp4 with the index up front (faststart), so a cut file still has it; mkv; MPEG-TS.
INSTANTIATE_TEST_SUITE_P(Containers, Truncated,
                         ::testing::Values(Truncation{"mp4", "-movflags +faststart"},
                                           Truncation{"mkv", ""}, Truncation{"ts", ""}),
                         [](const auto& p) { return std::string(p.param.container); });

TEST(DamagedInputs, CorruptPacketsInTheMiddle) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  for (const char* ext : {"mkv", "mp4", "ts"}) {
    SCOPED_TRACE(ext);
    // mp4 with its index up front, so the noise hits samples, not the index.
    auto clip = base_clip(std::string("corrupt_src.") + ext,
                          std::string(ext) == "mp4" ? "-movflags +faststart" : "");
    ASSERT_FALSE(clip.empty());
    std::vector<std::uint8_t> bytes = read_bytes(clip);
    std::mt19937 rng(7);
    // 1 KB of noise at 70% of the file: past the first GOP in every container.
    const std::size_t from = bytes.size() * 7 / 10,
                      len = std::min<std::size_t>(1024, bytes.size() / 16);
    for (std::size_t i = from; i < from + len; ++i) bytes[i] = static_cast<std::uint8_t>(rng());
    const auto bad = clip_dir() / (std::string("corrupt.") + ext);
    write_file(bad, bytes);
    LogCapture log;
    Decoded d = decode(bad);
    expect_consistent(d);
    // Everything before the damage (well before the middle of the file) comes out intact.
    ASSERT_GE(d.frames.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(read_frame_number(*d.frames[i].image), i);
    std::fprintf(
        stderr,
        "%s: %zu frames, %lld decode errors, %lld damaged, %lld corrupt packets, ended early %d\n",
        ext, d.frames.size(), static_cast<long long>(d.stats.decode_errors),
        static_cast<long long>(d.stats.frames_damaged),
        static_cast<long long>(d.stats.corrupt_packets), d.stats.ended_early);
    const bool reported =
        d.stats.decode_errors + d.stats.frames_damaged + d.stats.corrupt_packets > 0 ||
        d.stats.ended_early || d.frames.size() < kFrames;
    EXPECT_TRUE(reported) << "damage went unnoticed";
    EXPECT_FALSE(log.warnings().empty()) << "damage must produce a warning";
  }
}

// A regular 10 fps x264 clip of `seconds` without frames first..last; their neighbours keep
// their timestamps: what a demuxer that resyncs after damage leaves behind.
std::optional<std::filesystem::path> clip_with_hole(const std::string& name, double seconds,
                                                    int first, int last, std::string* err) {
  return make_clip(name,
                   "-f lavfi -i \"" + pattern(64, 48, 10, seconds) + ",select='not(between(n\\," +
                       std::to_string(first) + "\\," + std::to_string(last) +
                       "))'\" -fps_mode passthrough -c:v libx264 -pix_fmt yuv420p",
                   err);
}

TEST(TimestampHoles, ARealHoleIsReported) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  std::string err;
  auto clip = clip_with_hole("hole.mp4", 6.0, 30, 32, &err);
  ASSERT_TRUE(clip) << err;
  LogCapture log;
  Decoded d = decode(*clip);
  EXPECT_EQ(d.frames.size(), 57u);
  EXPECT_EQ(d.stats.frames_missing, 3);
  EXPECT_TRUE(log.contains("timestamps jump from 2.9 s to 3.3 s")) << "no warning";
}

TEST(TimestampHoles, ARealHoleIsReportedWhileSampling) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  // A 12 s clip without frames 80-82, decoded at 1 fps: the decoder skips B-frames far from the
  // ticks, and those deliberate holes must not hide the real one (next to the 8 s tick), and the
  // regular run needed first must go on across them.
  std::string err;
  auto clip = clip_with_hole("hole-fps.mp4", 12.0, 80, 82, &err);
  ASSERT_TRUE(clip) << err;
  decoder::SamplingOptions s;
  s.mode = decoder::SamplingMode::kFixedRate;
  s.fps = 1;
  LogCapture log;
  Decoded d = decode(*clip, s);
  EXPECT_LT(d.stats.frames_decoded, 117) << "nothing was skipped: the check proves nothing";
  EXPECT_EQ(d.stats.frames_missing, 3);
  EXPECT_TRUE(log.contains("timestamps jump from 7.9 s to 8.3 s")) << "no warning";
}

TEST(TimestampHoles, FramesSkippedForSamplingAreNotMissing) {
  // With --fps the decoder skips non-reference frames far from the sampling ticks; those holes
  // are deliberate. The bundled sample (x264, B-frames) once gave a false "timestamps jump"
  // warning here at 1 fps.
  const auto sample = std::filesystem::path(FS_SOURCE_DIR) / "samples" / "shapes-demo.mp4";
  ASSERT_TRUE(std::filesystem::is_regular_file(sample)) << sample;
  decoder::SamplingOptions s;
  s.mode = decoder::SamplingMode::kFixedRate;
  s.fps = 1;
  LogCapture log;
  Decoded d = decode(sample, s);
  EXPECT_EQ(d.frames.size(), 16u);
  EXPECT_LT(d.stats.frames_decoded, 160) << "nothing was skipped: the check proves nothing";
  EXPECT_EQ(d.stats.frames_missing, 0);
  EXPECT_TRUE(log.warnings().empty()) << log.warnings().front();
}

TEST(TimestampHoles, CleanX264WithBFramesIsNotDamagedAtAnyRate) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  // An ordinary encode (testsrc2 640x360 30 fps, preset veryfast, B-frames): at 0.5, 1 and 5
  // fps the decoder skips B-frames far from the ticks, and a frame whose packet time lies a
  // nanosecond past the "far" bound was skipped by the read loop while the hole check, which
  // rebuilt the time from the frame interval, took it for a missing frame ("timestamps jump
  // from 16.0333 s to 16.1 s ... damaged input").
  std::string err;
  auto clip = make_clip("testsrc2-bframes.mp4",
                        "-f lavfi -i testsrc2=size=640x360:rate=30 -t 18 -c:v libx264 -preset "
                        "veryfast -pix_fmt yuv420p",
                        &err);
  ASSERT_TRUE(clip) << err;
  for (const double fps : {0.5, 1.0, 5.0}) {
    decoder::SamplingOptions s;
    s.mode = decoder::SamplingMode::kFixedRate;
    s.fps = fps;
    LogCapture log;
    Decoded d = decode(*clip, s);
    EXPECT_LT(d.stats.frames_decoded, 540)
        << fps << " fps: nothing skipped, the check proves nothing";
    EXPECT_EQ(d.stats.frames_missing, 0) << fps << " fps";
    EXPECT_TRUE(log.warnings().empty()) << fps << " fps: " << log.warnings().front();
  }
}

TEST(CustomIo, MemoryReaderGivesTheSameFrames) {
  if (!has_encoder("libx264")) GTEST_SKIP() << "this ffmpeg has no libx264 encoder";
  auto clip = base_clip("mem.mp4", "");
  ASSERT_FALSE(clip.empty());
  const std::vector<std::uint8_t> bytes = read_bytes(clip);
  auto src =
      decoder::FfmpegSource::open(std::make_unique<decoder::MemoryReader>(bytes), "memory clip");
  EXPECT_EQ(src->info().url, "memory clip");
  int n = 0;
  while (std::optional<decoder::DecodedFrame> f = src->next()) {
    EXPECT_EQ(f->index, n);
    EXPECT_EQ(f->pts_ns, n * 40'000'000LL);
    ++n;
  }
  EXPECT_EQ(n, kFrames);

  std::vector<std::uint8_t> half(bytes.begin(),
                                 bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 20));
  try {
    auto s2 =
        decoder::FfmpegSource::open(std::make_unique<decoder::MemoryReader>(half), "memory stub");
    while (s2->next()) {
    }
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("memory stub"), std::string::npos);
  }
}

// A TCP listener that accepts connections and never answers: an HTTP read then blocks until
// FFmpeg's interrupt callback reports the stop request.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 4);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Interrupt, StopRequestEndsABlockedNetworkOpen) {
  SilentServer server;
  std::atomic<bool> stop{false};
  decoder::SourceOptions opt;
  opt.should_stop = [&] { return stop.load(); };
  opt.network_timeout_ms = 60'000;  // the stop, not the timeout, must end the wait
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  try {
    decoder::FfmpegSource::open("http://127.0.0.1:" + std::to_string(server.port()) + "/clip.mp4",
                                opt);
    ADD_FAILURE() << "open returned although the server never answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled) << e.what();
  }
  stopper.join();
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(waited, 5.0);
}

TEST(Interrupt, NetworkTimeoutEndsAStalledOpen) {
  SilentServer server;
  decoder::SourceOptions opt;
  opt.network_timeout_ms = 500;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    decoder::FfmpegSource::open("http://127.0.0.1:" + std::to_string(server.port()) + "/clip.mp4",
                                opt);
    ADD_FAILURE() << "open returned although the server never answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

}  // namespace
}  // namespace framescribe::testing
