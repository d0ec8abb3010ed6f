// The output folder and alert deliveries of `framescribe monitor`, and the lines it prints
// about each stream (the status board's entries as text).
//
//   sinks::prepare_monitor_out(out, /*snapshots=*/any_alerts);
//   auto deliveries = sinks::make_alert_deliveries({.out = out, .webhook = {.url = url}});
//   std::fprintf(stderr, "framescribe: %s\n", sinks::stream_status_line(b).c_str());
//
// Errors: prepare_monitor_out throws Error (kIo) for a snapshots folder that is a symbolic link
// and std::filesystem_error when a folder cannot be made; the deliveries throw as their
// factories (alerts.h). The functions are thread-safe; the deliveries are as QueuedDelivery.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/sinks/alerts.h"
#include "framescribe/sinks/status_board.h"

namespace framescribe::sinks {

// Creates `out` (nothing when empty) and, when `snapshots`, out/snapshots, which must not be a
// symbolic link (a planted link would send the snapshots elsewhere).
void prepare_monitor_out(const std::filesystem::path& out, bool snapshots);

// Where alerts go; each part is optional.
struct AlertTargets {
  std::filesystem::path out;  // <out>/alerts.jsonl (empty: no log)
  WebhookOptions webhook;     // empty url: no webhook
  std::string command;        // empty: no command
  double command_timeout_s = 30;
};
// One QueuedDelivery per target, in the order log, webhook, command: each delivers on a thread
// of its own behind a bounded queue, so a slow webhook or command never holds up a stream.
std::vector<std::unique_ptr<QueuedDelivery>> make_alert_deliveries(const AlertTargets& targets);

// "cam1: up, 120 frames (3 dropped), 11 windows (0 dropped), latency 1.2 s, 0 reconnects,
// 1 alerts" (DOWN when disconnected): the regular status line.
std::string stream_status_line(const StreamStatus& s);
// "cam1: 120 frames, 11 windows, 0 dropped, 2 gaps": the line at the end of a run.
std::string stream_end_line(const StreamStatus& s);

}  // namespace framescribe::sinks
