// What `framescribe monitor` knows about each stream right now, for the console, the web page
// and /metrics: a thread-safe board the live jobs write to and the HTTP server (status_http.h)
// reads, and its three renderings (the HTML page, Prometheus metrics, status.json).
//
//   MonitorBoard board;
//   int i = board.add_stream("rtsp://cam1/live");                // redacted name
//   board.set_frame(i, frame.image);                           // from the job's observer
//   std::vector<StreamStatus> now = board.snapshot();          // any thread
//
// Owns copies of the latest frame (shared, immutable), description and the last few alerts per
// stream: memory is bounded. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "framescribe/core/image.h"

namespace framescribe::sinks {

// One entry of a stream's recent history (the page lists the last few, newest first).
struct HistoryItem {
  std::int64_t wall_clock_ns = 0;  // a description's newest frame; a gap's end
  std::string text;                // the description; a gap's reason
  double seconds = -1;             // a description's latency; a gap's length (-1: unknown)
};

struct StreamStatus {
  std::string name;  // credentials removed
  std::shared_ptr<const core::Image> latest_frame;
  std::string description;
  std::deque<std::string> recent_alerts;                     // newest last, at most kRecentAlerts
  std::deque<HistoryItem> recent_descriptions, recent_gaps;  // newest last, at most kRecent
  // From the stream's live job.
  std::int64_t windows_done = 0, windows_dropped = 0, alerts_fired = 0;
  double latency_s = 0, max_latency_s = 0;  // capture of the newest frame to its description
  // From the source.
  std::int64_t frames_received = 0, frames_dropped = 0, reconnects = 0, gaps = 0;
  bool connected = false;
  std::int64_t last_frame_wall_ns = 0;
  std::int64_t webhook_failures = 0;
};

// The engine all streams share (issue 24's reuse): what its prompts asked for and what it ran,
// summed over the streams' window engines; "asked" minus "ran" is what the frame cache and
// forked alert questions saved. When the streams are batched step by step (StepScheduler), its
// counters too.
struct EngineStatus {
  std::int64_t prompt_tokens = 0, prefilled_tokens = 0;  // asked, ran
  std::int64_t frames = 0, frames_encoded = 0;           // asked, ran (vision encoder)
  bool batched = false;  // the step scheduler's counters below are set
  std::int64_t steps = 0, step_rows = 0, max_step_rows = 0;  // engine steps, their rows
  std::int64_t preemptions = 0, recomputed_tokens = 0;
};

class MonitorBoard {
 public:
  void set_engine(const EngineStatus& engine);
  EngineStatus engine() const;
  static constexpr std::size_t kRecentAlerts = 10;
  static constexpr std::size_t kRecent = 10;  // descriptions and gaps kept per stream
  int add_stream(std::string name);
  void set_frame(int stream, std::shared_ptr<const core::Image> image);
  void set_description(int stream, std::string text);
  // The latest description and its entry in the history.
  void add_description(int stream, HistoryItem item);
  void add_gap(int stream, HistoryItem item);
  void add_alert(int stream, std::string text);
  // Refreshes the counters of a stream (called by the status poller).
  void update(int stream, const std::function<void(StreamStatus&)>& fn);
  std::vector<StreamStatus> snapshot() const;
  std::shared_ptr<const core::Image> frame(int stream) const;

 private:
  mutable std::mutex mu_;
  std::vector<StreamStatus> streams_;
  EngineStatus engine_;
};

// The Prometheus text exposition (version 0.0.4) of the board: one HELP and TYPE line per
// metric family, a sample per stream labelled stream="name"; with `engine`, its counters too
// (unlabelled: one engine serves every stream).
std::string prometheus_metrics(const std::vector<StreamStatus>& streams,
                               const EngineStatus* engine = nullptr);

// The status page (HTML, server-rendered; reloads itself every few seconds): per stream its
// latest frame, health, description and recent history (descriptions, alerts, gaps; newest
// first), figures rounded for reading (latency 2.31 s); links to /metrics and /status.json.
std::string status_page(const std::vector<StreamStatus>& streams);

// /status.json: per stream its counters, latest description, alerts and recent history (newest
// first), invalid UTF-8 replaced.
std::string status_json(const std::vector<StreamStatus>& streams);

}  // namespace framescribe::sinks
