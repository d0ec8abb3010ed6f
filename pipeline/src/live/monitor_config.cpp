#include "framescribe/pipeline/live/monitor_config.h"

#include <array>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "framescribe/core/log.h"
#include "yaml_fields.h"

namespace framescribe::pipeline {
namespace {

using Fields = detail::YamlFields;

constexpr std::array<std::string_view, 4> kWindowVars = {"start", "end", "video", "n_frames"};
constexpr double kMaxSeconds = 7 * 24 * 3600.0;

std::int64_t to_ns(double s) {
  return std::llround(s * 1e9);
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

std::vector<AlertRule> parse_alerts(const Fields& f, const YAML::Node& n, const std::string& p) {
  if (!n.IsSequence()) f.fail(n, p, "expected a list of alert rules, got " + Fields::kind(n));
  std::vector<AlertRule> rules;
  std::set<std::string> names;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const YAML::Node a = n[i];
    const std::string ap = p + "[" + std::to_string(i) + "]";
    f.check_map(a, ap, {"name", "question", "threshold", "need", "of", "cooldown"});
    AlertRule r;
    r.name = "alert" + std::to_string(i + 1);
    r.cooldown_ns = kDefaultAlertCooldownNs;  // as --alert-cooldown's default
    if (a["name"]) {
      r.name = f.text(a["name"], ap + ".name", false);
      if (!valid_name(r.name))
        f.fail(a["name"], ap + ".name", "use letters, digits, '_', '.', '-'");
    }
    if (!names.insert(r.name).second) f.fail(a, ap + ".name", "'" + r.name + "' is used twice");
    if (!a["question"]) f.fail(a, ap + ".question", "missing: the yes/no question to ask");
    r.question = f.text(a["question"], ap + ".question", false);
    if (a["threshold"]) r.threshold = f.number(a["threshold"], ap + ".threshold", 0, 1);
    if (a["need"]) r.need = static_cast<int>(f.integer(a["need"], ap + ".need", 1, 1000));
    if (a["of"]) r.of = static_cast<int>(f.integer(a["of"], ap + ".of", 1, 1000));
    if (r.need > r.of)
      f.fail(a, ap + ".need",
             "need (" + std::to_string(r.need) + ") must not exceed of (" + std::to_string(r.of) +
                 ")");
    if (a["cooldown"])
      r.cooldown_ns = to_ns(f.number(a["cooldown"], ap + ".cooldown", 0, kMaxSeconds));
    rules.push_back(std::move(r));
  }
  return rules;
}

// The keys shared by `defaults` and each stream, applied over `o`.
void parse_live(const Fields& f, const YAML::Node& n, const std::string& p, LiveOptions& o) {
  if (n["interval"] && n["every"])
    f.fail(n["every"], p + "every", "give interval (every is its old name), not both");
  if (n["interval"])
    o.every_ns = to_ns(f.number(n["interval"], p + "interval", 0, kMaxSeconds, true));
  if (n["every"]) {
    // The old name, still read: --every means "every Nth frame" in summarize.
    FS_LOG_WARN(batch::format_mark(f.mark(n["every"], p + "every"),
                                   "'every' is deprecated: write 'interval' (seconds between "
                                   "windows)"));
    o.every_ns = to_ns(f.number(n["every"], p + "every", 0, kMaxSeconds, true));
  }
  if (n["window"] && n["frames"])
    f.fail(n["frames"], p + "frames", "give window or frames, not both");
  if (n["window"]) {
    o.window_ns = to_ns(f.number(n["window"], p + "window", 0, kMaxSeconds, true));
    o.window_frames = 0;
  }
  if (n["frames"]) o.window_frames = f.integer(n["frames"], p + "frames", 1, 10000);
  if (n["sample"]) o.sample_interval_ns = to_ns(f.number(n["sample"], p + "sample", 0, 3600, true));
  if (n["max_frames_per_window"])
    o.max_frames_per_window =
        f.integer(n["max_frames_per_window"], p + "max_frames_per_window", 1, 10000);
  if (n["max_pending"])
    o.max_pending_windows =
        static_cast<std::size_t>(f.integer(n["max_pending"], p + "max_pending", 1, 1000));
  if (n["prompt"]) {
    o.prompt = f.text(n["prompt"], p + "prompt", false);
    f.check_template_at(n["prompt"], p + "prompt", o.prompt, kWindowVars);
  }
  if (n["alerts"]) o.alerts = parse_alerts(f, n["alerts"], p + "alerts");
}

}  // namespace

MonitorConfig parse_monitor_config(const std::string& text, const std::string& file_name,
                                   const LiveOptions& base) {
  const Fields f{file_name};
  const YAML::Node root = detail::load_yaml(text, file_name);
  if (!root.IsMap())
    f.fail(root, "(top level)",
           "expected a mapping with version and streams, got " + Fields::kind(root));
  f.check_map(root, "", {"version", "defaults", "streams"});
  if (!root["version"]) f.fail(root, "version", "missing; write 'version: 1'");
  f.integer(root["version"], "version", 1, 1);

  LiveOptions defaults = base;
  const std::set<std::string> live_keys = {"interval",    "every",  "window",
                                           "frames",      "sample", "max_frames_per_window",
                                           "max_pending", "prompt", "alerts"};
  if (const YAML::Node d = root["defaults"]) {
    f.check_map(d, "defaults", live_keys);
    parse_live(f, d, "defaults.", defaults);
  }
  const YAML::Node streams = root["streams"];
  if (!streams) f.fail(root, "streams", "missing: the list of streams to watch");
  if (!streams.IsSequence() || streams.size() == 0)
    f.fail(streams, "streams",
           "expected a non-empty list of streams, got " + Fields::kind(streams));
  MonitorConfig config;
  std::set<std::string> names;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const YAML::Node s = streams[i];
    const std::string sp = "streams[" + std::to_string(i) + "]";
    std::set<std::string> keys = live_keys;
    keys.insert("url");
    keys.insert("name");
    f.check_map(s, sp, keys);
    MonitorStreamConfig c;
    if (!s["url"])
      f.fail(s, sp + ".url", "missing: the stream's URL (rtsp://, http://, file://, ...)");
    c.url = f.text(s["url"], sp + ".url", false);
    if (s["name"]) {
      c.name = f.text(s["name"], sp + ".name", false);
      if (!names.insert(c.name).second)
        f.fail(s["name"], sp + ".name", "'" + c.name + "' is used twice");
    }
    c.live = defaults;
    parse_live(f, s, sp + ".", c.live);
    try {
      validate(c.live);
    } catch (const Error& e) {
      f.fail(s, sp, e.what());
    }
    config.streams.push_back(std::move(c));
  }
  return config;
}

MonitorConfig load_monitor_config(const std::filesystem::path& path, const LiveOptions& base) {
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kNotFound, path.string() << ": cannot read the monitor config");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_monitor_config(ss.str(), path.string(), base);
}

}  // namespace framescribe::pipeline
