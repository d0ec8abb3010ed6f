// JSON Lines: one object per event ("type": "event"), streamed into the temporary file window
// by window, then one final record ("type": "summary") with the summary, the run's status and
// its counts, so that a program gets everything from one file.
#include <nlohmann/json.hpp>

#include "file_sink.h"
#include "framescribe/sinks/sinks.h"
#include "text.h"

namespace framescribe::sinks {
namespace {

class JsonlSink final : public FileSink {
 public:
  using FileSink::FileSink;
  std::string_view name() const override { return "jsonl"; }

 protected:
  void start(AtomicFile&, const core::RunInfo& run) override {
    video_ = run.video;
    model_ = run.model;
    events_ = 0;
  }

  void window(AtomicFile& file, const core::WindowResult& window) override {
    if (window.events.empty()) return;
    nlohmann::ordered_json frame_times = nlohmann::ordered_json::array();
    for (const std::int64_t pts : window.frame_pts_ns)
      frame_times.push_back(core::media_seconds(pts));
    std::string lines;
    for (const core::Event& e : window.events) {
      // ordered_json keeps the documented key order, so lines diff well between runs.
      nlohmann::ordered_json line;
      line["type"] = "event";
      line["video"] = video_;
      line["start"] = core::media_seconds(e.start_ns);
      line["end"] = core::media_seconds(e.end_ns);
      line["text"] = e.text;
      line["window"] = window.id;
      line["frame_times"] = frame_times;
      line["model"] = model_;
      line["prompt_hash"] = window.prompt_hash;
      line["timed"] = e.timed;
      // Model output may hold invalid UTF-8 (a token split mid-character): replace, not throw.
      lines += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      lines += '\n';
    }
    events_ += static_cast<std::int64_t>(window.events.size());
    file.write(lines);
    file.flush();
  }

  void end(AtomicFile& file, const core::RunEnd& end) override {
    nlohmann::ordered_json line;
    line["type"] = "summary";
    line["video"] = video_;
    line["summary"] = end.summary;
    line["status"] = std::string(core::to_string(end.status));
    if (!end.error.empty()) line["reason"] = end.error;
    line["events"] = events_;
    line["windows"] = end.windows;
    line["frames_sampled"] = end.frames_sampled;
    line["frames_skipped"] = end.frames_skipped;
    line["model"] = model_;
    file.write(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }

 private:
  std::string video_;
  std::string model_;
  std::int64_t events_ = 0;
};

}  // namespace

std::unique_ptr<core::EventSink> make_jsonl_sink(const std::filesystem::path& path) {
  return std::make_unique<JsonlSink>(path);
}

}  // namespace framescribe::sinks
