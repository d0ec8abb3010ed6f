#include "framescribe/sinks/status_board.h"

#include <cstdio>
#include <ctime>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/event.h"
#include "framescribe/sinks/escape.h"

namespace framescribe::sinks {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// For people: two decimals ("2.31"); the exact figure stays in /metrics.
std::string fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// "2026-11-27 01:50:00Z" (UTC), "-" for an unknown time.
std::string when(std::int64_t ns) {
  return ns <= 0 ? "-" : core::format_utc(ns, {.separator = ' '});
}

// Newest first, as on the page.
nlohmann::json history_json(const std::deque<HistoryItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (auto it = items.rbegin(); it != items.rend(); ++it)
    out.push_back(
        {{"wall_clock_ns", it->wall_clock_ns}, {"text", it->text}, {"seconds", it->seconds}});
  return out;
}

template <typename T>
void push_bounded(std::deque<T>& d, T item, std::size_t n) {
  d.push_back(std::move(item));
  while (d.size() > n) d.pop_front();
}

}  // namespace

int MonitorBoard::add_stream(std::string name) {
  std::lock_guard lock(mu_);
  streams_.push_back(StreamStatus{});
  streams_.back().name = std::move(name);
  return static_cast<int>(streams_.size()) - 1;
}

void MonitorBoard::set_frame(int i, std::shared_ptr<const core::Image> image) {
  std::lock_guard lock(mu_);
  streams_.at(static_cast<std::size_t>(i)).latest_frame = std::move(image);
}

void MonitorBoard::set_description(int i, std::string text) {
  std::lock_guard lock(mu_);
  streams_.at(static_cast<std::size_t>(i)).description = std::move(text);
}

void MonitorBoard::add_description(int i, HistoryItem item) {
  std::lock_guard lock(mu_);
  StreamStatus& s = streams_.at(static_cast<std::size_t>(i));
  s.description = item.text;
  push_bounded(s.recent_descriptions, std::move(item), kRecent);
}

void MonitorBoard::add_gap(int i, HistoryItem item) {
  std::lock_guard lock(mu_);
  push_bounded(streams_.at(static_cast<std::size_t>(i)).recent_gaps, std::move(item), kRecent);
}

void MonitorBoard::add_alert(int i, std::string text) {
  std::lock_guard lock(mu_);
  auto& a = streams_.at(static_cast<std::size_t>(i)).recent_alerts;
  a.push_back(std::move(text));
  while (a.size() > kRecentAlerts) a.pop_front();
}

void MonitorBoard::update(int i, const std::function<void(StreamStatus&)>& fn) {
  std::lock_guard lock(mu_);
  fn(streams_.at(static_cast<std::size_t>(i)));
}

std::vector<StreamStatus> MonitorBoard::snapshot() const {
  std::lock_guard lock(mu_);
  return streams_;
}

std::shared_ptr<const core::Image> MonitorBoard::frame(int i) const {
  std::lock_guard lock(mu_);
  if (i < 0 || static_cast<std::size_t>(i) >= streams_.size()) return nullptr;
  return streams_[static_cast<std::size_t>(i)].latest_frame;
}

void MonitorBoard::set_engine(const EngineStatus& engine) {
  std::lock_guard lock(mu_);
  engine_ = engine;
}

EngineStatus MonitorBoard::engine() const {
  std::lock_guard lock(mu_);
  return engine_;
}

std::string prometheus_metrics(const std::vector<StreamStatus>& streams,
                               const EngineStatus* engine) {
  std::ostringstream o;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    for (const StreamStatus& s : streams)
      o << name << "{stream=\"" << escape_label(s.name) << "\"} " << value(s) << "\n";
  };
  using S = const StreamStatus&;
  family("framescribe_frames_received_total", "counter", "Frames decoded from the stream.",
         [](S s) { return std::to_string(s.frames_received); });
  family("framescribe_frames_dropped_total", "counter",
         "Frames dropped before sampling because the reader was behind.",
         [](S s) { return std::to_string(s.frames_dropped); });
  family("framescribe_windows_done_total", "counter", "Windows described.",
         [](S s) { return std::to_string(s.windows_done); });
  family("framescribe_windows_dropped_total", "counter",
         "Windows dropped (oldest first) because inference was behind.",
         [](S s) { return std::to_string(s.windows_dropped); });
  family("framescribe_latency_seconds", "gauge",
         "Capture of a window's newest frame to its description, last window.",
         [](S s) { return num(s.latency_s); });
  family("framescribe_latency_max_seconds", "gauge", "Largest latency so far.",
         [](S s) { return num(s.max_latency_s); });
  family("framescribe_reconnects_total", "counter", "Connections started after the first.",
         [](S s) { return std::to_string(s.reconnects); });
  family("framescribe_gaps_total", "counter", "Outages of the stream.",
         [](S s) { return std::to_string(s.gaps); });
  family("framescribe_alerts_total", "counter", "Alerts fired.",
         [](S s) { return std::to_string(s.alerts_fired); });
  family("framescribe_connected", "gauge", "1 while frames are flowing.",
         [](S s) { return std::string(s.connected ? "1" : "0"); });
  if (engine != nullptr) {
    auto counter = [&](const char* name, const char* help, std::int64_t value) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << value << "\n";
    };
    counter("framescribe_engine_prompt_tokens_total",
            "Tokens of every prompt the engine ran (windows, alert questions, summaries).",
            engine->prompt_tokens);
    counter("framescribe_engine_prefilled_tokens_total",
            "Of those, tokens prefilled (the rest reused: alert questions forked off a window).",
            engine->prefilled_tokens);
    counter("framescribe_engine_frames_total", "Frames in those prompts.", engine->frames);
    counter("framescribe_engine_frames_encoded_total",
            "Of those, frames run through the vision encoder (the rest from the frame cache).",
            engine->frames_encoded);
    if (engine->batched) {
      counter("framescribe_engine_steps_total",
              "Batched engine steps run for all streams together (step scheduler).", engine->steps);
      counter("framescribe_engine_step_rows_total",
              "Tokens those steps evaluated (rows per step: this over the steps).",
              engine->step_rows);
      o << "# HELP framescribe_engine_step_rows_max The largest step, in rows.\n"
        << "# TYPE framescribe_engine_step_rows_max gauge\n"
        << "framescribe_engine_step_rows_max " << engine->max_step_rows << "\n";
      counter("framescribe_engine_preemptions_total",
              "Sequences whose KV blocks were dropped for another stream's call (recomputed "
              "later).",
              engine->preemptions);
      counter("framescribe_engine_recomputed_tokens_total",
              "Tokens prefilled again after a preemption.", engine->recomputed_tokens);
    }
  }
  return o.str();
}

std::string status_page(const std::vector<StreamStatus>& streams) {
  std::ostringstream o;
  o << "<!doctype html><html><head><meta charset=\"utf-8\"><title>framescribe monitor</title>"
       "<style>body{font-family:sans-serif;margin:1em;background:#f4f4f4}"
       ".stream{background:#fff;border-radius:6px;padding:1em;margin-bottom:1em;"
       "display:flex;gap:1em}.frame{width:320px;max-width:480px;background:#222;image-rendering:"
       "pixelated}"
       ".health.ok{color:#070}.health.down{color:#b00}.alerts li.alert{color:#b00}"
       ".frame.none{color:#ccc;padding:.5em}.history{font-size:90%}.history "
       "h3{font-size:100%;margin:.6em 0 .2em}"
       ".history ol{margin:0;padding-left:1.2em}time,.fig{color:#555;font-variant-numeric:"
       "tabular-nums}</style></head>"
       "<body><h1>framescribe monitor</h1>"
       "<nav><a href=\"/metrics\">metrics</a> &middot; <a href=\"/status.json\">status.json</a>"
       "</nav>\n";
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const StreamStatus& s = streams[i];
    o << "<section class=\"stream\" data-stream=\"" << html_escape(s.name) << "\" id=\"stream-" << i
      << "\">";
    o << "<div>";
    if (s.latest_frame)
      o << "<img class=\"frame\" alt=\"latest frame\" src=\"/frame/" << i << ".jpg\">";
    else
      o << "<div class=\"frame none\">no frame yet</div>";
    o << "</div><div><h2 class=\"name\">" << html_escape(s.name) << "</h2>";
    o << "<p class=\"health " << (s.connected ? "ok" : "down") << "\">"
      << (s.connected ? "connected" : "disconnected") << " &middot; " << s.frames_received
      << " frames, " << s.windows_done << " windows (" << s.windows_dropped << " dropped), "
      << s.reconnects << " reconnects, latency <span class=\"fig latency\">" << fixed2(s.latency_s)
      << " s</span></p>";
    o << "<p class=\"description\">" << html_escape(s.description) << "</p>";
    // Recent history, newest first.
    o << "<div class=\"history\"><h3>Recent descriptions</h3><ol class=\"descriptions\">";
    for (auto it = s.recent_descriptions.rbegin(); it != s.recent_descriptions.rend(); ++it)
      o << "<li class=\"entry description\"><time>" << when(it->wall_clock_ns)
        << "</time> <span class=\"fig latency\" title=\"latency\">" << fixed2(it->seconds)
        << " s</span> " << html_escape(it->text) << "</li>";
    if (s.recent_descriptions.empty()) o << "<li class=\"none\">none yet</li>";
    o << "</ol><h3>Recent alerts</h3><ol class=\"alerts\">";
    for (auto it = s.recent_alerts.rbegin(); it != s.recent_alerts.rend(); ++it)
      o << "<li class=\"entry alert\">" << html_escape(*it) << "</li>";
    if (s.recent_alerts.empty()) o << "<li class=\"none\">none</li>";
    o << "</ol><h3>Recent gaps</h3><ol class=\"gaps\">";
    for (auto it = s.recent_gaps.rbegin(); it != s.recent_gaps.rend(); ++it)
      o << "<li class=\"entry gap\"><time>" << when(it->wall_clock_ns)
        << "</time> <span class=\"fig\">" << fixed2(it->seconds) << " s</span> without frames ("
        << html_escape(it->text) << ")</li>";
    if (s.recent_gaps.empty()) o << "<li class=\"none\">none</li>";
    o << "</ol></div></div></section>\n";
  }
  o << "<script>window.addEventListener('load',()=>{const f=[...document.querySelectorAll("
       "'img.frame')];document.body.dataset.framesLoaded=f.filter(i=>i.complete&&"
       "i.naturalWidth>0).length;setTimeout(()=>location.reload(),5000);});</script>"
       "</body></html>\n";
  return o.str();
}

std::string status_json(const std::vector<StreamStatus>& streams) {
  nlohmann::json all = nlohmann::json::array();
  for (const StreamStatus& s : streams)
    all.push_back({{"stream", s.name},
                   {"connected", s.connected},
                   {"frames", s.frames_received},
                   {"windows", s.windows_done},
                   {"windows_dropped", s.windows_dropped},
                   {"reconnects", s.reconnects},
                   {"gaps", s.gaps},
                   {"latency_s", s.latency_s},
                   {"description", s.description},
                   {"alerts", s.recent_alerts},
                   {"recent_descriptions", history_json(s.recent_descriptions)},
                   {"recent_gaps", history_json(s.recent_gaps)}});
  return all.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace framescribe::sinks
