#include "sinks/sink_test_util.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace framescribe::testing {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kS = 1'000'000'000;

core::Event event(double start_s, double end_s, std::string text, std::int64_t window,
                  bool timed = true) {
  return core::Event{static_cast<std::int64_t>(start_s * 1000) * kMs,
                     static_cast<std::int64_t>(end_s * 1000) * kMs, std::move(text), window, timed};
}

}  // namespace

std::shared_ptr<const core::Image> solid_frame(int w, int h, Rgb8 colour) {
  return quadrant_frame(w, h, colour, colour, colour, colour);
}

std::shared_ptr<const core::Image> quadrant_frame(int w, int h, Rgb8 tl, Rgb8 tr, Rgb8 bl,
                                                  Rgb8 br) {
  auto img = std::make_shared<core::Image>(w, h, core::PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const Rgb8 c = y < h / 2 ? (x < w / 2 ? tl : tr) : (x < w / 2 ? bl : br);
      std::uint8_t* p = img->data() + img->stride_bytes() * y + 3 * x;
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }
  return img;
}

SampleRun sample_run() {
  SampleRun run;
  run.info = core::RunInfo{.video = "street_cam.mp4",
                           .duration_ns = 20 * kS,
                           .width_px = 1280,
                           .height_px = 720,
                           .model = "pixtral-tiny",
                           .sampling = "1 fps",
                           .started_at = "2025-01-02T03:04:05Z"};
  core::WindowResult w0;
  w0.id = 0;
  w0.start_ns = 0;
  w0.end_ns = 10 * kS;
  w0.frame_pts_ns = {0, 2500 * kMs, 5 * kS, 7500 * kMs};
  w0.frames = {solid_frame(320, 180, kRed), solid_frame(320, 180, kGreen),
               solid_frame(320, 180, kBlue), solid_frame(320, 180, kYellow)};
  w0.prompt_hash = "0123456789abcdef";
  w0.answer = "[00:02.5 - 00:06.0] ...";
  w0.events = {event(2.5, 6.0, "A red car <b>enters</b> & \"stops\"", 0),
               event(8.0, 8.0, "Door opens --> someone exits", 0)};
  core::WindowResult w1;
  w1.id = 1;
  w1.start_ns = 8 * kS;
  w1.end_ns = 20 * kS;
  w1.frame_pts_ns = {8 * kS, 12 * kS, 16 * kS};
  w1.frames = {solid_frame(320, 180, kMagenta), solid_frame(320, 180, kCyan),
               solid_frame(320, 180, kGrey)};
  w1.prompt_hash = "fedcba9876543210";
  w1.events = {event(8.0, 20.0, "Two people talk.\n\n  They walk away | left.  ", 1, false),
               event(8.5, 11.0, "Light turns green", 1)};
  run.windows = {w0, w1};
  run.end = core::RunEnd{.status = core::RunStatus::kComplete,
                         .error = "",
                         .summary = "A car arrives and stops.\nTwo people talk & leave.",
                         .frames_sampled = 7,
                         .frames_skipped = 0,
                         .windows = 2,
                         .wall_s = 5.04,
                         .engine_s = 4.2};
  return run;
}

SampleRun demo_run(int n_windows) {
  static const char* kTexts[] = {
      "A cyclist in a yellow jacket crosses from left to right.",
      "A delivery van stops at the kerb; the driver unloads two boxes.",
      "Two people wait at the crossing, one checks a phone.",
      "The traffic light turns green and three cars drive off.",
      "A dog on a lead sniffs at the lamp post <near the bench>.",
      "Rain starts; umbrellas open & people hurry into the cafe.",
      "A bus pulls in, passengers get off,\nthen it leaves towards the bridge.",
      "The street is empty for a moment.",
  };
  const Rgb8 palette[] = {kRed, kGreen, kBlue, kYellow, kMagenta, kCyan, kGrey};
  SampleRun run;
  run.info = core::RunInfo{.video = "demo/street corner & cafe.mp4",
                           .duration_ns = n_windows * 10 * kS,
                           .width_px = 1920,
                           .height_px = 1080,
                           .model = "pixtral-12b",
                           .sampling = "0.5 fps",
                           .started_at = "2025-01-02T03:04:05Z"};
  for (int w = 0; w < n_windows; ++w) {
    core::WindowResult win;
    win.id = w;
    win.start_ns = w * 10 * kS;
    win.end_ns = (w + 1) * 10 * kS;
    for (int f = 0; f < 5; ++f) {
      win.frame_pts_ns.push_back(win.start_ns + f * 2 * kS);
      const int k = w + f;
      win.frames.push_back(quadrant_frame(448, 252, palette[k % 7], palette[(k + 1) % 7],
                                          palette[(k + 3) % 7], palette[(k + 5) % 7]));
    }
    win.prompt_hash = "00000000000000" + std::to_string(10 + w).substr(0, 2);
    const double t0 = w * 10.0;
    win.events.push_back(event(t0 + 1.0, t0 + 4.5, kTexts[(2 * w) % 8], w));
    if (w % 3 == 2) {
      win.events.push_back(event(t0, t0 + 10.0, kTexts[(2 * w + 1) % 8], w, false));
    } else {
      win.events.push_back(event(t0 + 6.0, t0 + 6.0, kTexts[(2 * w + 1) % 8], w));
    }
    run.windows.push_back(std::move(win));
  }
  run.end = core::RunEnd{.status = core::RunStatus::kComplete,
                         .error = "",
                         .summary =
                             "A quiet street corner with a cafe. Cyclists, a delivery van "
                             "and a bus pass; it starts to rain towards the end.",
                         .frames_sampled = n_windows * 5,
                         .frames_skipped = 0,
                         .windows = n_windows,
                         .wall_s = 61.3,
                         .engine_s = 58.9};
  return run;
}

void feed_windows(core::EventSink& sink, const SampleRun& run) {
  sink.begin(run.info);
  for (const core::WindowResult& w : run.windows) sink.on_window(w);
}

void feed(core::EventSink& sink, const SampleRun& run) {
  feed_windows(sink, run);
  sink.finish(run.end);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> dir_entries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (const char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CommandResult run_command(const std::string& command, const std::filesystem::path& scratch) {
  static int n = 0;
  const std::string tag = "cmd" + std::to_string(n++);
  const auto out_path = scratch / (tag + ".out");
  const auto err_path = scratch / (tag + ".err");
  const std::string full = "( " + command + " ) </dev/null >" + shell_quote(out_path.string()) +
                           " 2>" + shell_quote(err_path.string());
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

}  // namespace framescribe::testing
