#include "framescribe/sinks/monitor_outputs.h"

#include <cstdio>

#include "framescribe/core/error.h"

namespace framescribe::sinks {

namespace fs = std::filesystem;

void prepare_monitor_out(const fs::path& out, bool snapshots) {
  if (out.empty()) return;
  fs::create_directories(out);
  if (!snapshots) return;
  fs::create_directories(out / "snapshots");
  FS_CHECK(!fs::is_symlink(out / "snapshots"), kIo,
           (out / "snapshots").string()
               << ": is a symbolic link; snapshots are never written through one (remove it "
                  "or choose another --out)");
}

std::vector<std::unique_ptr<QueuedDelivery>> make_alert_deliveries(const AlertTargets& t) {
  std::vector<std::unique_ptr<QueuedDelivery>> deliveries;
  auto queued = [&](std::unique_ptr<AlertDelivery> d) {
    deliveries.push_back(std::make_unique<QueuedDelivery>(std::move(d)));
  };
  if (!t.out.empty()) queued(make_alert_log(t.out / "alerts.jsonl"));
  if (!t.webhook.url.empty()) queued(make_webhook(t.webhook));
  if (!t.command.empty()) queued(make_alert_command(t.command, t.command_timeout_s));
  return deliveries;
}

std::string stream_status_line(const StreamStatus& b) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                ": %s, %lld frames (%lld dropped), %lld windows (%lld dropped), latency %.1f s, "
                "%lld reconnects, %lld alerts",
                b.connected ? "up" : "DOWN", static_cast<long long>(b.frames_received),
                static_cast<long long>(b.frames_dropped), static_cast<long long>(b.windows_done),
                static_cast<long long>(b.windows_dropped), b.latency_s,
                static_cast<long long>(b.reconnects), static_cast<long long>(b.alerts_fired));
  return b.name + buf;
}

std::string stream_end_line(const StreamStatus& b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, ": %lld frames, %lld windows, %lld dropped, %lld gaps",
                static_cast<long long>(b.frames_received), static_cast<long long>(b.windows_done),
                static_cast<long long>(b.windows_dropped), static_cast<long long>(b.gaps));
  return b.name + buf;
}

}  // namespace framescribe::sinks
