// WebVTT: the "WEBVTT" header, then numbered cues with "HH:MM:SS.mmm" times. Cue text escapes
// &, < and > (the only characters with a meaning there).
#include "framescribe/sinks/escape.h"
#include "framescribe/sinks/sinks.h"
#include "subtitle_cues.h"

namespace framescribe::sinks {
namespace {

class VttSink final : public SubtitleSink {
 public:
  using SubtitleSink::SubtitleSink;
  std::string_view name() const override { return "vtt"; }

 protected:
  std::string render(const std::vector<Cue>& cues) const override {
    std::string out = "WEBVTT\n";
    for (std::size_t i = 0; i < cues.size(); ++i) {
      out += "\n" + std::to_string(i + 1) + "\n";
      out += cue_time(cues[i].start_ms, '.') + " --> " + cue_time(cues[i].end_ms, '.') + "\n";
      for (const std::string& line : cues[i].lines) out += markup_escape(line) + "\n";
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<core::EventSink> make_vtt_sink(const std::filesystem::path& path) {
  return std::make_unique<VttSink>(path);
}

}  // namespace framescribe::sinks
