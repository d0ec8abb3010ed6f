// SubRip: "n\nHH:MM:SS,mmm --> HH:MM:SS,mmm\ntext\n\n" per cue, UTF-8 without BOM.
#include "framescribe/sinks/sinks.h"
#include "subtitle_cues.h"

namespace framescribe::sinks {
namespace {

class SrtSink final : public SubtitleSink {
 public:
  using SubtitleSink::SubtitleSink;
  std::string_view name() const override { return "srt"; }

 protected:
  std::string render(const std::vector<Cue>& cues) const override {
    std::string out;
    for (std::size_t i = 0; i < cues.size(); ++i) {
      out += std::to_string(i + 1) + "\n";
      out += cue_time(cues[i].start_ms, ',') + " --> " + cue_time(cues[i].end_ms, ',') + "\n";
      // SubRip has no escaping: tags such as <i> are the format's own markup.
      for (const std::string& line : cues[i].lines) out += line + "\n";
      out += "\n";
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<core::EventSink> make_srt_sink(const std::filesystem::path& path) {
  return std::make_unique<SrtSink>(path);
}

}  // namespace framescribe::sinks
