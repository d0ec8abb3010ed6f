// The monitor's outputs: JSON-lines files appended live, and the observer that routes a live
// job's frames, descriptions, gaps and alerts to the board, the files and the alert deliveries.
//
//   LineFile gaps(out / "gaps.jsonl");                    // appends, flushed per line
//   MonitorObserver obs(board, index, stem, &descriptions, &gaps, deliveries, out / "snapshots");
//   pipeline::LiveJob job(name, describe, alerts, opt, sinks, &obs);
//
// Ownership: everything borrowed must outlive the observer. Threads: LineFile::write and the
// observer's callbacks from any thread. Deliveries are QueuedDelivery (thread-safe; on_alert
// only enqueues, so a slow webhook or command never holds up a stream).
#pragma once

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pipeline/live/live_job.h"
#include "framescribe/sinks/alerts.h"
#include "monitor_status.h"

namespace framescribe::apps {

// "2026-11-27T01:50:00Z"
std::string iso_utc(std::int64_t ns);
// "2026-11-27T01:50:00.123Z"
std::string iso_utc_ms(std::int64_t ns);

// Appends JSON lines, flushed per line, from any thread. Opened with sinks::open_append_file:
// a symbolic link (or a FIFO, a device) already at `path` is refused, never written through,
// and the descriptor is close-on-exec (an alert command never inherits it).
class LineFile {
 public:
  explicit LineFile(const std::filesystem::path& path)
      : f_(sinks::open_append_file(path, "a JSON-lines output")) {}
  ~LineFile() { std::fclose(f_); }
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  void write(const nlohmann::ordered_json& j) {
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mu_);
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fflush(f_);
  }

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

// Routes what a job reports to the board, the files and the alert deliveries.
class MonitorObserver final : public pipeline::LiveObserver {
 public:
  MonitorObserver(MonitorBoard& board, int index, std::string stem, LineFile* descriptions,
                  LineFile* gaps, std::vector<sinks::AlertDelivery*> deliveries,
                  std::filesystem::path snapshots)
      : board_(board),
        index_(index),
        stem_(std::move(stem)),
        descriptions_(descriptions),
        gaps_(gaps),
        deliveries_(std::move(deliveries)),
        snapshots_(std::move(snapshots)) {}
  void on_frame(const std::string&, const core::Frame& f) override {
    board_.set_frame(index_, f.image);
  }
  // A record per window: media times (start, end: seconds of stream time) and the wall-clock
  // time of its newest frame (ISO 8601 UTC with milliseconds, and ns since 1970).
  void on_window(const std::string& stream, const core::WindowResult& w, double latency,
                 std::int64_t wall_clock_ns) override {
    board_.add_description(index_, HistoryItem{wall_clock_ns, w.answer, latency});
    if (descriptions_)
      descriptions_->write({{"type", "window"},
                            {"stream", stream},
                            {"window", w.id},
                            {"start", core::ns_to_seconds(w.start_ns)},
                            {"end", core::ns_to_seconds(w.end_ns)},
                            {"wall_clock", iso_utc_ms(wall_clock_ns)},
                            {"wall_clock_ns", wall_clock_ns},
                            {"latency_s", latency},
                            {"text", w.answer}});
  }
  void on_gap(const std::string& stream, const core::StreamGap& g) override {
    board_.add_gap(index_, HistoryItem{g.end_wall_ns, g.reason,
                                       core::ns_to_seconds(g.end_wall_ns - g.start_wall_ns)});
    if (gaps_)
      gaps_->write({{"type", "gap"},
                    {"stream", stream},
                    {"start", iso_utc(g.start_wall_ns)},
                    {"end", iso_utc(g.end_wall_ns)},
                    {"start_wall_clock_ns", g.start_wall_ns},
                    {"end_wall_clock_ns", g.end_wall_ns},
                    {"seconds", core::ns_to_seconds(g.end_wall_ns - g.start_wall_ns)},
                    {"reason", g.reason}});
  }
  void on_alert(const core::Alert& fired) override {
    core::Alert a = fired;
    try {
      if (a.snapshot && !snapshots_.empty())
        a.snapshot_path = sinks::write_snapshot_jpeg(
            *a.snapshot, snapshots_ / (stem_ + "-" + rule_file_part(a.rule) + "-" +
                                       std::to_string(a.window_id) + ".jpg"));
    } catch (const Error& e) {
      FS_LOG_WARN(a.stream << ": snapshot: " << e.what());
    }
    a.snapshot.reset();  // the deliveries name the file; queued alerts hold no pixels
    char score[32];
    std::snprintf(score, sizeof score, "%.3f", a.score);
    board_.add_alert(index_, iso_utc(a.wall_clock_ns) + " " + a.rule + " (" + score + ")");
    FS_LOG_WARN(a.stream << ": ALERT " << a.rule << " score " << score);
    for (sinks::AlertDelivery* d : deliveries_) d->deliver(a);
  }

 private:
  MonitorBoard& board_;
  int index_;
  std::string stem_;
  LineFile* descriptions_;
  LineFile* gaps_;
  std::vector<sinks::AlertDelivery*> deliveries_;
  std::filesystem::path snapshots_;
};

}  // namespace framescribe::apps
