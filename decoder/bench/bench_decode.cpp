// framescribe_bench_decode: our decode + sampling against the ffmpeg command on one clip.
//
//   framescribe_bench_decode [--clip FILE] [--repeat N] [--edge PX]
//
// Without --clip, makes a 60 s 1080p30 H.264 clip (testsrc2, libx264 veryfast, default GOP)
// under the temp dir once and reuses it. Times, best of N runs each:
//   ours   fixed rate 1 fps, longest edge PX (default 512), RGB frames in memory
//   ours   keyframes only, same size
//   ffmpeg -i clip -vf fps=1,scale=PX:-2 -f rawvideo -y /dev/null
// and prints the ratios (ours / ffmpeg; below 1.0 means faster than ffmpeg).
// Not a test: timings depend on the machine and its load.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/decoder/ffmpeg_source.h"

namespace fs = std::filesystem;
using namespace framescribe;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct OurRun {
  double seconds = 0;
  long long frames = 0;
  long long decoded = 0;
};

OurRun run_ours(const std::string& clip, bool keyframes, int edge) {
  const double t0 = now_s();
  decoder::SourceOptions so;
  so.keyframes_only = keyframes;
  if (!keyframes) so.sample_fps = 1.0;
  auto src = decoder::FfmpegSource::open(clip, so);
  decoder::SamplingOptions sampling;
  sampling.mode = keyframes ? decoder::SamplingMode::kKeyframes : decoder::SamplingMode::kFixedRate;
  sampling.fps = 1.0;
  decoder::OutputSizing sizing;
  sizing.longest_edge_px = edge;
  decoder::SampledReader reader(*src, sampling, sizing);
  OurRun r;
  while (std::optional<core::Frame> f = reader.next()) ++r.frames;
  r.seconds = now_s() - t0;
  r.decoded = src->stats().frames_decoded;
  return r;
}

double run_command(const std::string& cmd) {
  const double t0 = now_s();
  int rc = std::system(cmd.c_str());
  const double t = now_s() - t0;
  if (rc != 0) {
    std::fprintf(stderr, "command failed (%d): %s\n", rc, cmd.c_str());
    std::exit(1);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string clip;
  int repeat = 3, edge = 512;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--clip" && i + 1 < argc)
      clip = argv[++i];
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--edge" && i + 1 < argc)
      edge = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--clip FILE] [--repeat N] [--edge PX]\n", argv[0]);
      return 2;
    }
  }
  decoder::route_ffmpeg_logs(false);
  if (clip.empty()) {
    fs::path dir = fs::temp_directory_path() / "framescribe-bench";
    fs::create_directories(dir);
    clip = (dir / "testsrc2_1080p30_60s_h264.mp4").string();
    if (!fs::exists(clip)) {
      std::fprintf(stderr, "making %s (60 s 1080p30 H.264)...\n", clip.c_str());
      run_command(
          "ffmpeg -hide_banner -loglevel error -f lavfi -i "
          "testsrc2=size=1920x1080:rate=30:duration=60 "
          "-c:v libx264 -preset veryfast -pix_fmt yuv420p -y '" +
          clip + ".part.mp4' && mv '" + clip + ".part.mp4' '" + clip + "'");
    }
  }
  const std::string ffmpeg_cmd = "ffmpeg -hide_banner -loglevel error -nostdin -i '" + clip +
                                 "' -vf fps=1,scale=" + std::to_string(edge) +
                                 ":-2 -f rawvideo -y /dev/null";
  try {
    std::vector<double> ff, fixed, key;
    OurRun last_fixed, last_key;
    for (int i = 0; i < repeat; ++i) {
      ff.push_back(run_command(ffmpeg_cmd));
      last_fixed = run_ours(clip, false, edge);
      fixed.push_back(last_fixed.seconds);
      last_key = run_ours(clip, true, edge);
      key.push_back(last_key.seconds);
    }
    const double t_ff = *std::min_element(ff.begin(), ff.end());
    const double t_fixed = *std::min_element(fixed.begin(), fixed.end());
    const double t_key = *std::min_element(key.begin(), key.end());
    std::printf("clip: %s, longest edge %d px, best of %d runs\n", clip.c_str(), edge, repeat);
    std::printf("ffmpeg fps=1,scale=%d:-2        %7.3f s\n", edge, t_ff);
    std::printf(
        "ours fixed rate 1 fps           %7.3f s  (%lld frames, %lld decoded)  ratio %.3f  (target "
        "<= 1.0)\n",
        t_fixed, last_fixed.frames, last_fixed.decoded, t_fixed / t_ff);
    std::printf(
        "ours keyframes                  %7.3f s  (%lld frames, %lld decoded)  ratio %.3f  "
        "speed-up %.1fx (target >= 3x)\n",
        t_key, last_key.frames, last_key.decoded, t_key / t_ff, t_ff / t_key);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
