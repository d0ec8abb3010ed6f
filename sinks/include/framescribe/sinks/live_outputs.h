// The monitor's live outputs of one stream: JSON-lines files appended as windows and gaps come
// (descriptions, gaps), the status board's entries, alert snapshots, log lines and deliveries.
//
//   JsonLinesFile gaps(out / "gaps.jsonl");                 // appends, flushed per line
//   StreamOutputs outputs(board, index, stem, &descriptions, &gaps, deliveries, out / "snapshots");
//   outputs.window(stream, window_result, latency_s, wall_clock_ns);   // from a live job
//   outputs.gap(stream, gap);                                 // a core::StreamGap
//   outputs.alert(alert);                                     // a core::Alert
//
// Ownership: everything borrowed must outlive the StreamOutputs. Threads: JsonLinesFile::write
// and the StreamOutputs calls from any thread. Deliveries should be QueuedDelivery (thread-safe;
// deliver() only enqueues, so a slow webhook or command never holds up a stream). Errors: a file
// that cannot be opened throws Error(kIo) from the JsonLinesFile constructor; a snapshot that
// cannot be written is a warning, the alert goes out without it.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/alert.h"
#include "framescribe/core/event.h"
#include "framescribe/core/frame_source.h"
#include "framescribe/core/image.h"
#include "framescribe/sinks/alerts.h"
#include "framescribe/sinks/status_board.h"

namespace framescribe::sinks {

// Appends JSON lines, flushed per line, from any thread. Opened with open_append_file: a
// symbolic link (or a FIFO, a device) already at `path` is refused, never written through, and
// the descriptor is close-on-exec (an alert command never inherits it).
class JsonLinesFile {
 public:
  explicit JsonLinesFile(const std::filesystem::path& path)
      : f_(open_append_file(path, "a JSON-lines output")) {}
  ~JsonLinesFile() { std::fclose(f_); }
  JsonLinesFile(const JsonLinesFile&) = delete;
  JsonLinesFile& operator=(const JsonLinesFile&) = delete;
  void write(const nlohmann::ordered_json& j);

 private:
  std::mutex mu_;
  std::FILE* f_ = nullptr;
};

// The file-name part for a stream: core::source_stem of its URL ("live" for
// rtsp://u:p@cam/live?token=x), or of its configured name, reduced to [A-Za-z0-9._-] and at
// most 60 characters; "stream" when nothing is left; "-2", "-3", ... appended to repeats.
std::string stream_file_stem(const std::string& url, const std::string& configured_name,
                             std::set<std::string>& used);

// An alert rule's name as a file-name part: [A-Za-z0-9_-] only ("rule" when nothing is left).
std::string rule_file_part(const std::string& rule);

// Routes what one stream's live job reports to the board, the files and the alert deliveries.
class StreamOutputs {
 public:
  StreamOutputs(MonitorBoard& board, int index, std::string stem, JsonLinesFile* descriptions,
                JsonLinesFile* gaps, std::vector<AlertDelivery*> deliveries,
                std::filesystem::path snapshots)
      : board_(board),
        index_(index),
        stem_(std::move(stem)),
        descriptions_(descriptions),
        gaps_(gaps),
        deliveries_(std::move(deliveries)),
        snapshots_(std::move(snapshots)) {}
  void frame(std::shared_ptr<const core::Image> image) {
    board_.set_frame(index_, std::move(image));
  }
  // A record per window: media times (start, end: seconds of stream time) and the wall-clock
  // time of its newest frame (ISO 8601 UTC with milliseconds, and ns since 1970).
  void window(const std::string& stream, const core::WindowResult& w, double latency_s,
              std::int64_t wall_clock_ns);
  // An outage (its wall-clock start and end, UTC ns, and why).
  void gap(const std::string& stream, const core::StreamGap& g);
  // Writes the snapshot (when there is one and a snapshots folder) and names it in the alert,
  // notes the alert on the board, logs it and hands it to every delivery (without the pixels:
  // queued alerts hold none).
  void alert(core::Alert a);

 private:
  MonitorBoard& board_;
  int index_;
  std::string stem_;
  JsonLinesFile* descriptions_;
  JsonLinesFile* gaps_;
  std::vector<AlertDelivery*> deliveries_;
  std::filesystem::path snapshots_;
};

}  // namespace framescribe::sinks
