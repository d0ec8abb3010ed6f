// libFuzzer target for the FFmpeg video source: the input is a whole media file, fed through a
// custom AVIO reader (MemoryReader), so demuxers, parsers and decoders see fuzzed bytes and our
// code (timestamps, rotation, SAR, sampling, swscale conversion) sees whatever they make of it.
// Any input must be rejected with framescribe::Error at open, or decode to frames with strictly
// increasing timestamps and sane sizes; never crash, leak or hang.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target video_source_fuzzer
//   build/fuzz/tests/fuzz/video_source_fuzzer -rss_limit_mb=4096 <corpus copy of
//   tests/fuzz/corpus/video>
// or tools/fuzz.sh [seconds].
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

extern "C" {
#include <libavutil/log.h>
}

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/ffmpeg_source.h"

namespace {

namespace fd = framescribe::decoder;
namespace core = framescribe::core;

[[noreturn]] void broken_promise(const char* what, long long a, long long b) {
  std::fprintf(stderr, "video_source_fuzzer: %s (%lld, %lld)\n", what, a, b);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  av_log_set_level(AV_LOG_QUIET);  // FFmpeg's complaints about broken input are expected
  core::set_log_level(core::LogLevel::kOff);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 20)) return -1;  // keep runs fast; containers need no more to be interesting
  fd::SourceOptions opt;
  opt.decoder_threads = 1;       // deterministic, and no thread start-up per input
  opt.max_pixels = 1024 * 1024;  // a fuzzed header may claim 16k x 16k
  opt.format_options["probesize"] = "65536";
  try {
    auto src = fd::FfmpegSource::open(std::make_unique<fd::MemoryReader>(std::span(data, size)),
                                      "fuzz", opt);
    fd::SamplingOptions sampling;
    sampling.mode = fd::SamplingMode::kScene;
    sampling.scene_threshold = 0.2;
    sampling.max_gap_ns = 100'000'000;
    fd::Sampler sampler(sampling);
    fd::OutputSizing sizing;
    sizing.longest_edge_px = 64;
    std::int64_t last = core::kNoTimestamp;
    for (int i = 0; i < 64; ++i) {
      std::optional<fd::DecodedFrame> f = src->next();
      if (!f) break;
      if (last != core::kNoTimestamp && f->pts_ns <= last)
        broken_promise("timestamps not increasing", last, f->pts_ns);
      last = f->pts_ns;
      if (f->display_width_px <= 0 || f->display_height_px <= 0) {
        broken_promise("empty display size", f->display_width_px, f->display_height_px);
      }
      fd::FrameFacts facts{f->pts_ns, f->index, f->keyframe, src->scene_score(*f), f->duration_ns};
      fd::Verdict v = sampler.offer(facts);
      if (v.emit_current || i < 2) {
        core::TargetSize ts =
            fd::plan_output_size(f->display_width_px, f->display_height_px, sizing);
        core::Frame out = src->convert(*f, ts);
        if (out.image->width_px() != ts.width_px || out.image->height_px() != ts.height_px) {
          broken_promise("converted size differs from the target", out.image->width_px(),
                         ts.width_px);
        }
      }
    }
  } catch (const framescribe::Error&) {
    // A clear rejection is a correct answer for broken input.
  }
  return 0;
}
