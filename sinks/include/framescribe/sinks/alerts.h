// Where live alerts go: a JSONL log, a webhook (HTTP POST of the JSON through libcurl, with a
// timeout and retries) and a command (run through /bin/sh with the JSON on its stdin), plus
// the JPEG snapshot of the frame that fired it.
//
//   core::Alert a{.stream = "cam1", .rule = "person", .score = 0.93, ...};   // core/alert.h
//   a.snapshot_path = sinks::write_snapshot_jpeg(*frame.image, "out/alerts/cam1-17.jpg");
//   auto log = sinks::make_alert_log("out/alerts.jsonl");
//   auto hook = sinks::make_webhook({.url = "http://127.0.0.1:9000/hook"});
//   log->deliver(a);  hook->deliver(a);          // false: failed (logged, counted), never throws
//
// A delivery can be slow (a webhook's timeouts and retries, a command that runs for minutes):
// wrap each in a QueuedDelivery so that the stream threads only enqueue.
//
//   sinks::QueuedDelivery cmd(sinks::make_alert_command("notify.sh", 30));
//   cmd.deliver(a);   // returns at once; false: the queue was full (dropped, counted, warned)
//
// Threads: deliver() from one thread at a time per delivery (QueuedDelivery: any thread).
// Ownership: each delivery owns its file or curl handle. Errors: creating a delivery with a
// bad path or URL throws Error; a failed delivery returns false and logs a line without the
// URL's credentials.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/alert.h"
#include "framescribe/core/image.h"

namespace framescribe::sinks {

// One JSON object, no newline: {"type":"alert","stream":...,"time":"ISO 8601 UTC",...}.
std::string alert_json(const core::Alert& alert);

class AlertDelivery {
 public:
  virtual ~AlertDelivery() = default;
  virtual std::string_view name() const = 0;
  virtual bool deliver(const core::Alert& alert) = 0;
  std::int64_t failures() const { return failures_; }

 protected:
  std::int64_t failures_ = 0;
};

// Appends one line per alert, flushed at once; the file is opened with open_append_file.
std::unique_ptr<AlertDelivery> make_alert_log(const std::filesystem::path& path);

// Opens `path` for appending, created (0644 less the umask) if missing, the safe way for an
// output directory someone else may have written into first: a symbolic link (O_NOFOLLOW) or
// anything but a regular file (a FIFO, a device) is refused with Error(kIo) naming the path
// and `what`, never written through; the descriptor is close-on-exec. The caller fcloses it.
std::FILE* open_append_file(const std::filesystem::path& path, std::string_view what);

struct WebhookOptions {
  std::string url;
  long timeout_ms = 5000;  // per attempt, connection included
  int retries = 2;         // attempts after the first, 200 ms then doubling apart
};
std::unique_ptr<AlertDelivery> make_webhook(WebhookOptions options);

// Runs `command` with /bin/sh -c, the alert's JSON on stdin, and FS_ALERT_STREAM,
// FS_ALERT_RULE, FS_ALERT_SCORE, FS_ALERT_SNAPSHOT in its environment; waits for it at most
// `timeout_s`, then kills its whole process group (SIGTERM, SIGKILL 1 s later) and counts a
// failure. The child runs in a process group of its own and inherits only descriptors 0-2
// (stdin: the JSON); every other descriptor of the process is closed in it.
std::unique_ptr<AlertDelivery> make_alert_command(std::string command, double timeout_s = 30);

// Delivers through `inner` on a thread of its own, from a queue of at most `capacity` alerts:
// deliver() only enqueues. When the queue is full the new alert is dropped, counted
// (dropped()) and logged. The destructor stops taking alerts, delivers those queued for at
// most `drain_s` more seconds (plus the one in progress, bounded by the inner delivery's own
// limit) and drops the rest with a warning.
class QueuedDelivery final : public AlertDelivery {
 public:
  static constexpr std::size_t kDefaultCapacity = 64;
  explicit QueuedDelivery(std::unique_ptr<AlertDelivery> inner,
                          std::size_t capacity = kDefaultCapacity, double drain_s = 10);
  ~QueuedDelivery() override;
  QueuedDelivery(const QueuedDelivery&) = delete;
  QueuedDelivery& operator=(const QueuedDelivery&) = delete;
  std::string_view name() const override;
  bool deliver(const core::Alert& alert) override;  // thread-safe; false: dropped
  std::int64_t dropped() const;
  std::int64_t delivered() const;          // delivered successfully by the inner delivery
  std::int64_t delivery_failures() const;  // the inner delivery returned false
  // Waits until nothing is queued or in progress; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

  struct State;

 private:
  std::unique_ptr<State> s_;
};

// Writes the image as a JPEG (full size) to `path` through sinks::AtomicFile (a temporary
// file beside it, created exclusively, then renamed over it: a symbolic link at `path` is
// replaced, never written through); returns the path. Throws Error(kIo) naming the path.
std::string write_snapshot_jpeg(const core::Image& image, const std::filesystem::path& path);

// The image as JPEG bytes (full size; quality 1..100). Throws Error as write_snapshot_jpeg.
std::vector<std::uint8_t> encode_jpeg(const core::Image& image, int quality = 85);

// A URL for messages: scheme, host and port only.
std::string url_origin(std::string_view url);

}  // namespace framescribe::sinks
