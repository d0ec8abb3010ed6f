// Where live alerts go: a JSONL log, a webhook (HTTP POST of the JSON through libcurl, with a
// timeout and retries) and a command (run through /bin/sh with the JSON on its stdin), plus
// the JPEG snapshot of the frame that fired it.
//
//   sinks::AlertRecord a{.stream = "cam1", .rule = "person", .score = 0.93, ...};
//   a.snapshot_path = sinks::write_snapshot_jpeg(*frame.image, "out/alerts/cam1-17.jpg");
//   auto log = sinks::make_alert_log("out/alerts.jsonl");
//   auto hook = sinks::make_webhook({.url = "http://127.0.0.1:9000/hook"});
//   log->deliver(a);  hook->deliver(a);          // false: failed (logged, counted), never throws
//
// Threads: deliver() from one thread at a time per delivery. Ownership: each delivery owns its
// file or curl handle. Errors: creating a delivery with a bad path or URL throws Error; a
// failed delivery returns false and logs a line without the URL's credentials.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/image.h"

namespace framescribe::sinks {

struct AlertRecord {
  std::string stream;  // credentials already removed
  std::string rule, question;
  double score = 0;
  int hits = 0, of = 0;
  std::int64_t window_id = 0;
  std::int64_t pts_ns = 0;
  std::int64_t wall_clock_ns = 0;  // UTC ns
  std::string snapshot_path;       // empty: none
};

// One JSON object, no newline: {"type":"alert","stream":...,"time":"ISO 8601 UTC",...}.
std::string alert_json(const AlertRecord& alert);

class AlertDelivery {
 public:
  virtual ~AlertDelivery() = default;
  virtual std::string_view name() const = 0;
  virtual bool deliver(const AlertRecord& alert) = 0;
  std::int64_t failures() const { return failures_; }

 protected:
  std::int64_t failures_ = 0;
};

// Appends one line per alert, flushed at once (the file is created if missing).
std::unique_ptr<AlertDelivery> make_alert_log(const std::filesystem::path& path);

struct WebhookOptions {
  std::string url;
  long timeout_ms = 5000;  // per attempt, connection included
  int retries = 2;         // attempts after the first, 200 ms then doubling apart
};
std::unique_ptr<AlertDelivery> make_webhook(WebhookOptions options);

// Runs `command` with /bin/sh -c, the alert's JSON on stdin, and FS_ALERT_STREAM,
// FS_ALERT_RULE, FS_ALERT_SCORE, FS_ALERT_SNAPSHOT in its environment; waits for it.
std::unique_ptr<AlertDelivery> make_alert_command(std::string command);

// Writes the image as a JPEG (full size) to `path` through a temporary file; returns the path.
// Throws Error(kIo) naming the path.
std::string write_snapshot_jpeg(const core::Image& image, const std::filesystem::path& path);

// The image as JPEG bytes (full size; quality 1..100). Throws Error as write_snapshot_jpeg.
std::vector<std::uint8_t> encode_jpeg(const core::Image& image, int quality = 85);

// A URL for messages: scheme, host and port only.
std::string url_origin(std::string_view url);

}  // namespace framescribe::sinks
