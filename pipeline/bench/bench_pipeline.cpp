// framescribe_bench_pipeline: is decoding hidden behind inference? The real pipeline (FFmpeg
// decoding, sampling, Pixtral preprocessing, the TBB graph, a JSONL sink) runs one clip with an
// engine of fixed cost per window (it sleeps, so it takes no CPU from decoding), and the share of
// wall time not spent in the engine is printed beside the serial reference measured in the same
// run (decode + preprocess every frame first, then the engine's time).
//
//   framescribe_bench_pipeline [--clip FILE] [--fps F] [--edge PX] [--frames-per-window N]
//                              [--window-ms MS]
//
// Without --clip, makes a 120 s 1080p30 H.264 clip (testsrc2, libx264 veryfast) under the temp
// dir once and reuses it. Target: under 5% of the wall time outside the engine. Not a test:
// timings depend on the machine and its load.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/pipeline/video_pipeline.h"
#include "framescribe/sinks/sinks.h"

namespace fs = std::filesystem;
using namespace framescribe;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Options {
  std::string clip;
  double fps = 2.0;
  int edge = 512;
  long long frames_per_window = 16;
  int window_ms = 1000;
};

class ClipSource final : public core::FrameSource {
 public:
  ClipSource(const std::string& clip, const Options& o) {
    decoder::SourceOptions so;
    so.sample_fps = o.fps;
    src_ = decoder::FfmpegSource::open(clip, so);
    decoder::SamplingOptions sampling;
    sampling.mode = decoder::SamplingMode::kFixedRate;
    sampling.fps = o.fps;
    decoder::OutputSizing sizing;
    sizing.longest_edge_px = o.edge;
    reader_ = std::make_unique<decoder::SampledReader>(*src_, sampling, sizing);
    interval_ = static_cast<std::int64_t>(1e9 / o.fps);
  }
  std::optional<core::Frame> next() override { return reader_->next(); }
  std::int64_t end_ns() const override { return src_->info().duration_ns; }
  std::int64_t interval_ns() const override { return interval_; }

 private:
  std::unique_ptr<decoder::FfmpegSource> src_;
  std::unique_ptr<decoder::SampledReader> reader_;
  std::int64_t interval_ = 0;
};

// Costs like Pixtral's (one token per byte of text stands in for the tokenizer), real
// preprocessing, a fixed sleep per window.
class FixedCostEngine final : public pipeline::WindowEngine, public pipeline::PromptCoster {
 public:
  explicit FixedCostEngine(int window_ms) : window_ms_(window_ms) {}
  const pipeline::PromptCoster& coster() const override { return *this; }
  std::int64_t text_tokens(std::string_view t) const override {
    return static_cast<std::int64_t>(t.size());
  }
  std::int64_t image_tokens(int w, int h) const override { return (h / 16) * (w / 16 + 1); }
  std::int64_t fixed_tokens() const override { return 3; }
  std::int64_t context_tokens() const override { return 131072; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& f) const override {
    return std::make_shared<const inference::PixelImage>(
        inference::preprocess_image(f.image->view()));
  }
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view,
                                  const core::StopFlag&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(window_ms_));
    pipeline::WindowAnswer a;
    a.text = "[" + core::format_timestamp(plan.start_ns) + "-" +
             core::format_timestamp(plan.end_ns) + "] window " + std::to_string(plan.id);
    return a;
  }
  pipeline::WindowAnswer complete(std::string_view, const core::StopFlag&) override { return {}; }
  std::int64_t max_answer_tokens() const override { return 512; }
  std::int64_t text_prompt_tokens(std::string_view p) const override {
    return 3 + static_cast<std::int64_t>(p.size());
  }
  std::string model_name() const override { return "fixed-cost"; }

 private:
  int window_ms_;
};

std::string default_clip() {
  const fs::path p = fs::temp_directory_path() / "framescribe-bench-120s-1080p.mp4";
  if (!fs::exists(p)) {
    std::fprintf(stderr, "making %s (once)...\n", p.c_str());
    const std::string cmd =
        "ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i testsrc2=size=1920x1080:rate=30 "
        "-t 120 -c:v libx264 -preset veryfast -pix_fmt yuv420p -y '" +
        p.string() + "'";
    if (std::system(cmd.c_str()) != 0) FS_FAIL(kIo, "ffmpeg could not make " << p.string());
  }
  return p.string();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--clip")
      o.clip = value();
    else if (a == "--fps")
      o.fps = std::stod(value());
    else if (a == "--edge")
      o.edge = std::stoi(value());
    else if (a == "--frames-per-window")
      o.frames_per_window = std::stoll(value());
    else if (a == "--window-ms")
      o.window_ms = std::stoi(value());
    else {
      std::fprintf(stderr,
                   "usage: %s [--clip FILE] [--fps F] [--edge PX] [--frames-per-window N] "
                   "[--window-ms MS]\n",
                   argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  try {
    if (o.clip.empty()) o.clip = default_clip();
    decoder::route_ffmpeg_logs(false);

    // Serial reference: decode + preprocess every sampled frame, nothing else.
    const double t0 = now_s();
    long long frames = 0;
    {
      ClipSource src(o.clip, o);
      while (auto f = src.next()) {
        (void)inference::preprocess_image(f->image->view());
        ++frames;
      }
    }
    const double decode_s = now_s() - t0;

    // The pipeline.
    FixedCostEngine engine(o.window_ms);
    const fs::path out = fs::temp_directory_path() / "framescribe-bench-pipeline";
    fs::create_directories(out);
    std::unique_ptr<core::EventSink> jsonl = sinks::make_sink("jsonl", out, "bench", nullptr);
    pipeline::PipelineOptions po;
    po.packing.max_frames_per_window = o.frames_per_window;
    po.packing.video_name = fs::path(o.clip).filename().string();
    po.summary = false;
    pipeline::VideoPipeline p(engine, {jsonl.get()}, po);
    ClipSource src(o.clip, o);
    core::StopFlag stop;
    const pipeline::RunResult r = p.run(src, core::RunInfo{.video = o.clip}, stop);
    const double wall = r.stats.wall_s, in_engine = r.stats.engine_s;
    const double outside = wall - in_engine;

    std::printf("clip            %s\n", o.clip.c_str());
    std::printf(
        "sampling        %.2f fps, longest edge %d px: %lld frames, %lld windows of <= %lld\n",
        o.fps, o.edge, frames, static_cast<long long>(r.stats.windows_done), o.frames_per_window);
    std::printf("engine          %d ms per window (sleeps: no CPU)\n", o.window_ms);
    std::printf("%-34s %10s\n", "", "seconds");
    std::printf("%-34s %10.2f\n", "reference: decode+preprocess alone", decode_s);
    std::printf("%-34s %10.2f\n", "reference: serial (decode + engine)", decode_s + in_engine);
    std::printf("%-34s %10.2f\n", "pipeline wall time", wall);
    std::printf("%-34s %10.2f\n", "  of which in the engine", in_engine);
    std::printf("%-34s %10.2f  (%.2f%% of wall; target < 5%%)\n", "  outside the engine", outside,
                100.0 * outside / wall);
    std::printf("%-34s %10lld  (limit %lld)\n", "max frames in flight",
                static_cast<long long>(r.stats.max_frames_in_flight),
                static_cast<long long>(r.stats.frames_in_flight_limit));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "framescribe_bench_pipeline: %s\n", e.what());
    return 1;
  }
}
