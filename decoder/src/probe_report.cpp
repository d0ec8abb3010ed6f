#include "framescribe/decoder/probe_report.h"

#include <cstdarg>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace framescribe::decoder {
namespace {

// printf onto the end of a string, any length.
__attribute__((format(printf, 2, 3))) void appendf(std::string& out, const char* fmt, ...) {
  va_list args, again;
  va_start(args, fmt);
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  if (n > 0) {
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data() + at, static_cast<std::size_t>(n) + 1, fmt, again);
    out.resize(at + static_cast<std::size_t>(n));
  }
  va_end(again);
}

}  // namespace

std::string probe_report(const StreamInfo& in, const SamplingOptions& sampling, long long frames,
                         bool counted, const core::TargetSize& ts, bool json) {
  const std::string& shown = in.url;  // credentials redacted
  const long long per_frame = ts.n_tokens();
  const long long total = frames * per_frame;
  const long long windows = total > 0 ? (total + kProbeContextTokens - 1) / kProbeContextTokens : 0;
  const double duration_s = in.duration_ns > 0 ? core::media_seconds(in.duration_ns) : -1;
  if (json) {
    nlohmann::ordered_json j;
    j["video"] = shown;
    j["container"] = in.container;
    j["codec"] = in.codec;
    j["pixel_format"] = in.pixel_format;
    j["bit_depth"] = in.bit_depth;
    j["duration_s"] = duration_s;
    j["frame_rate"] = in.frame_rate;
    j["frame_count"] = in.frame_count;
    j["coded_width"] = in.coded_width_px;
    j["coded_height"] = in.coded_height_px;
    j["sample_aspect_ratio"] = std::to_string(in.sar_num) + ":" + std::to_string(in.sar_den);
    j["rotation"] = in.rotation_deg;
    j["width"] = in.display_width_px;
    j["height"] = in.display_height_px;
    j["has_audio"] = in.has_audio;
    j["plan"] = {{"sampling", describe(sampling)}, {"frames", frames},
                 {"frames_counted", counted},      {"frame_width", ts.width_px},
                 {"frame_height", ts.height_px},   {"tokens_per_frame", per_frame},
                 {"total_tokens", total},          {"context_windows_128k", windows}};
    return j.dump(1) + "\n";
  }
  std::string out;
  appendf(out, "video:       %s\n", shown.c_str());
  appendf(out, "container:   %s\n", in.container.c_str());
  appendf(out, "codec:       %s (%s), %s, %d-bit\n", in.codec.c_str(), in.codec_long.c_str(),
          in.pixel_format.c_str(), in.bit_depth);
  if (duration_s >= 0) appendf(out, "duration:    %.3f s\n", duration_s);
  appendf(out, "frame rate:  %.3f fps%s\n", in.frame_rate,
          in.frame_count > 0 ? (" (" + std::to_string(in.frame_count) + " frames)").c_str() : "");
  appendf(out, "size:        %dx%d stored, SAR %d:%d, rotation %d -> %dx%d displayed\n",
          in.coded_width_px, in.coded_height_px, in.sar_num, in.sar_den, in.rotation_deg,
          in.display_width_px, in.display_height_px);
  appendf(out, "audio:       %s\n", in.has_audio ? "yes" : "no");
  appendf(out, "token plan:  %s\n", describe(sampling).c_str());
  appendf(out, "  frames:            %lld%s\n", frames, counted ? " (counted)" : " (estimated)");
  appendf(out, "  frame size:        %dx%d (%dx%d patches)\n", ts.width_px, ts.height_px, ts.cols(),
          ts.rows());
  appendf(out, "  tokens per frame:  %lld\n", per_frame);
  appendf(out, "  total tokens:      %lld\n", total);
  appendf(out, "  128k windows:      %lld\n", windows);
  return out;
}

}  // namespace framescribe::decoder
