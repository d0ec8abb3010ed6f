#include "decoder/video_clips.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "framescribe/core/log.h"
#include "inference/test_files.h"

namespace framescribe::testing {

namespace {
std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    *status = -1;
    return "popen failed";
  }
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  *status = pclose(p);
  return out;
}

std::mutex g_log_mutex;
std::vector<std::string> g_log_lines;
}  // namespace

std::string pattern(int w, int h, double rate, double duration_s) {
  const std::string bit = "255*mod(floor(N/pow(2,floor(X*8/W))),2)";
  auto plane = [&](const char* top_left) {
    return "'if(lt(Y,H/2),if(lt(X,W/2)," + std::string(top_left) + ",128)," + bit + ")'";
  };
  std::ostringstream os;
  os << "color=c=black:s=" << w << "x" << h << ":r=" << rate << ":d=" << duration_s
     << ",format=rgb24,geq=r=" << plane("255") << ":g=" << plane("0") << ":b=" << plane("0");
  return os.str();
}

bool has_encoder(const std::string& name) {
  static const std::string list = [] {
    int status = 0;
    return run("ffmpeg -hide_banner -encoders", &status);
  }();
  return list.find(" " + name + " ") != std::string::npos;
}

std::filesystem::path clip_dir() {
  static TempDir dir;  // removed at process exit
  return dir.path();
}

std::optional<std::filesystem::path> make_clip(const std::string& name, const std::string& args,
                                               std::string* error) {
  static std::map<std::string, std::filesystem::path> made;
  if (auto it = made.find(name); it != made.end()) return it->second;
  std::filesystem::path path = clip_dir() / name;
  int status = 0;
  std::string out =
      run("ffmpeg -hide_banner -loglevel error -nostdin " + args + " -y '" + path.string() + "'",
          &status);
  if (status != 0) {
    if (error) *error = "ffmpeg failed making " + name + ": " + out;
    return std::nullopt;
  }
  made[name] = path;
  return path;
}

int read_frame_number(const core::Image& img) {
  const int w = img.width_px(), h = img.height_px();
  const int y = h * 3 / 4;
  int n = 0;
  for (int i = 0; i < 8; ++i) {
    const int x = (2 * i + 1) * w / 16;
    const std::uint8_t* p = img.data() + img.stride_bytes() * y + 3 * x;
    const int lum = (p[0] + p[1] + p[2]) / 3;
    if (lum > 170)
      n |= 1 << i;
    else if (lum > 85)
      return -1;  // neither black nor white: not our pattern or a wrong frame
  }
  return n;
}

int red_corner(const core::Image& img) {
  const int w = img.width_px(), h = img.height_px();
  const int xs[4] = {w / 4, 3 * w / 4, 3 * w / 4, w / 4};
  const int ys[4] = {h / 4, h / 4, 3 * h / 4, 3 * h / 4};
  int best = -1, best_score = -1000;
  for (int q = 0; q < 4; ++q) {
    const std::uint8_t* p = img.data() + img.stride_bytes() * ys[q] + 3 * xs[q];
    int score = p[0] - (p[1] + p[2]) / 2;
    if (score > best_score) best_score = score, best = q;
  }
  return best_score > 100 ? best : -1;
}

Decoded decode(const std::filesystem::path& clip, const decoder::SamplingOptions& sampling,
               const decoder::OutputSizing& sizing, decoder::SourceOptions source) {
  if (sampling.mode == decoder::SamplingMode::kKeyframes) source.keyframes_only = true;
  if (sampling.mode == decoder::SamplingMode::kFixedRate) source.sample_fps = sampling.fps;
  if (sampling.start_ns > 0) source.start_ns = sampling.start_ns;
  auto src = decoder::FfmpegSource::open(clip.string(), source);
  decoder::SampledReader reader(*src, sampling, sizing);
  Decoded d;
  while (std::optional<core::Frame> f = reader.next()) d.frames.push_back(std::move(*f));
  d.stats = src->stats();
  d.info = src->info();
  return d;
}

LogCapture::LogCapture() {
  std::lock_guard lock(g_log_mutex);
  g_log_lines.clear();
  core::set_log_sink([](core::LogLevel level, std::string_view msg) {
    if (level < core::LogLevel::kWarn) return;
    std::fprintf(stderr, "[log] %.*s\n", static_cast<int>(msg.size()),
                 msg.data());  // visible in test output
    std::lock_guard sink_lock(g_log_mutex);
    g_log_lines.emplace_back(msg);
  });
}

LogCapture::~LogCapture() {
  core::set_log_sink({});
}

std::vector<std::string> LogCapture::warnings() const {
  std::lock_guard lock(g_log_mutex);
  return g_log_lines;
}

bool LogCapture::contains(const std::string& text) const {
  for (const std::string& l : warnings()) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace framescribe::testing
