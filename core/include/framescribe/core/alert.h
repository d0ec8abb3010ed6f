// A live alert that fired: made by the pipeline (pipeline::LiveJob, from an alert rule's
// probabilities), delivered by the sinks (sinks/alerts.h: the JSONL log, webhooks, commands).
//
//   core::Alert a;                          // filled by LiveJob, handed to LiveObserver::on_alert
//   a.snapshot_path = sinks::write_snapshot_jpeg(*a.snapshot, "out/cam1-person-17.jpg");
//   delivery->deliver(a);                   // sinks::alert_json(a) names the path, not the pixels
//
// A plain value: safe to copy and to read from several threads (the snapshot is a shared,
// immutable image).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "framescribe/core/image.h"

namespace framescribe::core {

struct Alert {
  std::string stream;  // credentials already removed
  std::string rule, question;
  double score = 0;  // the rule's probability that fired it
  int hits = 0, of = 0;
  std::int64_t window_id = 0;
  std::int64_t pts_ns = 0;                // of the window's newest frame
  std::int64_t wall_clock_ns = 0;         // UTC ns, of that frame
  std::shared_ptr<const Image> snapshot;  // that frame (null: none)
  std::string snapshot_path;              // where it was written (empty: not written)
};

}  // namespace framescribe::core
