#include "framescribe/sinks/live_outputs.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/core/frame.h"
#include "framescribe/core/log.h"
#include "framescribe/core/source_name.h"

namespace framescribe::sinks {

void JsonLinesFile::write(const nlohmann::ordered_json& j) {
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

std::string stream_file_stem(const std::string& url, const std::string& configured_name,
                             std::set<std::string>& used) {
  const std::string from = configured_name.empty() ? core::source_stem(url) : configured_name;
  std::string s;
  for (char c : from)
    s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  // No leading dots or dashes (hidden files, options), no name made only of dots.
  while (!s.empty() && (s.front() == '.' || s.front() == '-' || s.front() == '_'))
    s.erase(s.begin());
  if (s.size() > 60) s = s.substr(0, 60);
  if (s.empty()) s = "stream";
  const std::string base = s;
  for (int k = 2; !used.insert(s).second; ++k) s = base + "-" + std::to_string(k);
  return s;
}

std::string rule_file_part(const std::string& rule) {
  std::string s;
  for (char c : rule) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return s.empty() ? "rule" : s.substr(0, 40);
}

void StreamOutputs::window(const std::string& stream, const core::WindowResult& w, double latency_s,
                           std::int64_t wall_clock_ns) {
  board_.add_description(index_, HistoryItem{wall_clock_ns, w.answer, latency_s});
  if (descriptions_)
    descriptions_->write({{"type", "window"},
                          {"stream", stream},
                          {"window", w.id},
                          {"start", core::ns_to_seconds(w.start_ns)},
                          {"end", core::ns_to_seconds(w.end_ns)},
                          {"wall_clock", core::format_utc(wall_clock_ns, {.milliseconds = true})},
                          {"wall_clock_ns", wall_clock_ns},
                          {"latency_s", latency_s},
                          {"text", w.answer}});
}

void StreamOutputs::gap(const std::string& stream, const core::StreamGap& g) {
  const double seconds = core::ns_to_seconds(g.end_wall_ns - g.start_wall_ns);
  board_.add_gap(index_, HistoryItem{g.end_wall_ns, g.reason, seconds});
  if (gaps_)
    gaps_->write({{"type", "gap"},
                  {"stream", stream},
                  {"start", core::format_utc(g.start_wall_ns)},
                  {"end", core::format_utc(g.end_wall_ns)},
                  {"start_wall_clock_ns", g.start_wall_ns},
                  {"end_wall_clock_ns", g.end_wall_ns},
                  {"seconds", seconds},
                  {"reason", g.reason}});
}

void StreamOutputs::alert(core::Alert a) {
  try {
    if (a.snapshot && !snapshots_.empty())
      a.snapshot_path = write_snapshot_jpeg(
          *a.snapshot, snapshots_ / (stem_ + "-" + rule_file_part(a.rule) + "-" +
                                     std::to_string(a.window_id) + ".jpg"));
  } catch (const Error& e) {
    FS_LOG_WARN(a.stream << ": snapshot: " << e.what());
  }
  a.snapshot.reset();  // the deliveries name the file; queued alerts hold no pixels
  char score[32];
  std::snprintf(score, sizeof score, "%.3f", a.score);
  board_.add_alert(index_, core::format_utc(a.wall_clock_ns) + " " + a.rule + " (" + score + ")");
  FS_LOG_WARN(a.stream << ": ALERT " << a.rule << " score " << score);
  for (AlertDelivery* d : deliveries_) d->deliver(a);
}

}  // namespace framescribe::sinks
