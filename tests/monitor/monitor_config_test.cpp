// monitor.yaml (label unit): defaults over the command line's options, per-stream overrides,
// alert rules, and one clear error with FILE:LINE:COLUMN and the key path for each mistake.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/pipeline/live/monitor_config.h"

namespace framescribe {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

pipeline::LiveOptions base() {
  pipeline::LiveOptions o;
  o.every_ns = 10 * kSec;
  o.window_ns = 10 * kSec;
  o.max_frames_per_window = 8;
  return o;
}

TEST(MonitorConfig, DefaultsThenStreamOverrides) {
  const std::string text =
      "version: 1\n"
      "defaults:\n"
      "  every: 5\n"
      "  alerts:\n"
      "    - name: person\n"
      "      question: Anyone there?\n"
      "      threshold: 0.7\n"
      "      need: 2\n"
      "      of: 3\n"
      "      cooldown: 60\n"
      "streams:\n"
      "  - url: rtsp://u:p@cam1/s\n"
      "    name: dock\n"
      "  - url: rtsp://cam2/s\n"
      "    frames: 4\n"
      "    prompt: \"gate {start}-{end}\"\n"
      "    alerts: []\n";
  const auto c = pipeline::parse_monitor_config(text, "m.yaml", base());
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[0].url, "rtsp://u:p@cam1/s");
  EXPECT_EQ(c.streams[0].name, "dock");
  EXPECT_EQ(c.streams[0].live.every_ns, 5 * kSec);
  EXPECT_EQ(c.streams[0].live.window_ns, 10 * kSec);  // from the command line
  ASSERT_EQ(c.streams[0].live.alerts.size(), 1u);
  const pipeline::AlertRule& r = c.streams[0].live.alerts[0];
  EXPECT_EQ(r.name, "person");
  EXPECT_EQ(r.question, "Anyone there?");
  EXPECT_DOUBLE_EQ(r.threshold, 0.7);
  EXPECT_EQ(r.need, 2);
  EXPECT_EQ(r.of, 3);
  EXPECT_EQ(r.cooldown_ns, 60 * kSec);
  EXPECT_TRUE(c.streams[1].name.empty());
  EXPECT_EQ(c.streams[1].live.window_frames, 4);
  EXPECT_EQ(c.streams[1].live.prompt, "gate {start}-{end}");
  EXPECT_TRUE(c.streams[1].live.alerts.empty());  // the stream's own (empty) list replaces
}

// The key has the command line's name, interval; the old name every is still read, with one
// warning naming interval; both at once is an error.
TEST(MonitorConfig, IntervalAndTheOldEveryWithAWarning) {
  std::vector<std::string> warnings;
  core::set_log_sink([&](core::LogLevel level, std::string_view msg) {
    if (level >= core::LogLevel::kWarn) warnings.emplace_back(msg);
  });
  const auto c = pipeline::parse_monitor_config(
      "version: 1\ndefaults:\n  interval: 3\nstreams:\n  - url: a\n  - url: b\n    every: 7\n",
      "m.yaml", base());
  core::set_log_sink(nullptr);
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[0].live.every_ns, 3 * kSec);
  EXPECT_EQ(c.streams[1].live.every_ns, 7 * kSec);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("m.yaml:7:12"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("'interval'"), std::string::npos) << warnings[0];
  EXPECT_THROW(pipeline::parse_monitor_config(
                   "version: 1\nstreams:\n  - {url: a, interval: 2, every: 2}\n", "m.yaml", base()),
               Error);
}

// A rule without a cooldown waits 60 s between alerts, as --alert-cooldown's default (it was
// 0 in YAML, so a config rule re-alerted on every new episode however close).
TEST(MonitorConfig, AlertCooldownDefaultsTo60SecondsAsOnTheCommandLine) {
  const auto c = pipeline::parse_monitor_config(
      "version: 1\nstreams:\n  - url: a\n    alerts:\n      - question: q\n", "m.yaml", base());
  ASSERT_EQ(c.streams[0].live.alerts.size(), 1u);
  EXPECT_EQ(c.streams[0].live.alerts[0].cooldown_ns, 60 * kSec);
  EXPECT_EQ(pipeline::kDefaultAlertCooldownNs, 60 * kSec);
}

TEST(MonitorConfig, TheExampleIsValid) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::path(FS_SOURCE_DIR) / "configs")) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("monitor") || e.path().extension() != ".yaml") continue;
    const auto c = pipeline::load_monitor_config(e.path(), base());
    EXPECT_FALSE(c.streams.empty()) << name;
    ++n;
  }
  EXPECT_GE(n, 1);
}

struct Bad {
  const char* text;
  const char* expect;  // the start of the message: file:line:column: key path
};

TEST(MonitorConfig, EachMistakeIsOneClearError) {
  const std::vector<Bad> cases = {
      {"version: 1\nstreams: [\n", "m.yaml:3:1: (syntax)"},
      {"streams: [{url: a}]\n", "m.yaml:1:1: version: missing"},
      {"version: 2\nstreams: [{url: a}]\n", "m.yaml:1:10: version: must be between 1 and 1"},
      {"version: 1\n", "m.yaml:1:1: streams: missing"},
      {"version: 1\nstreams: []\n", "m.yaml:2:10: streams: expected a non-empty list"},
      {"version: 1\nstreams:\n  - name: x\n", "m.yaml:3:5: streams[0].url: missing"},
      {"version: 1\ncolour: red\nstreams: [{url: a}]\n", "m.yaml:2:1: colour: unknown key"},
      {"version: 1\nstreams:\n  - url: a\n    evry: 3\n",
       "m.yaml:4:5: streams[0].evry: unknown key"},
      {"version: 1\nstreams:\n  - url: a\n    every: -1\n",
       "m.yaml:4:12: streams[0].every: must be > 0"},
      {"version: 1\nstreams:\n  - url: a\n    every: soon\n",
       "m.yaml:4:12: streams[0].every: expected a number"},
      {"version: 1\nstreams:\n  - url: a\n    window: 5\n    frames: 3\n",
       "m.yaml:5:13: streams[0].frames: give window or frames, not both"},
      {"version: 1\nstreams:\n  - url: a\n    prompt: \"{when}\"\n",
       "m.yaml:4:13: streams[0].prompt: prompt template: unknown variable"},
      {"version: 1\nstreams:\n  - url: a\n    alerts: yes\n",
       "m.yaml:4:13: streams[0].alerts: expected a list"},
      {"version: 1\nstreams:\n  - url: a\n    alerts:\n      - name: p\n",
       "m.yaml:5:9: streams[0].alerts[0].question: missing"},
      {"version: 1\nstreams:\n  - url: a\n    alerts:\n      - {question: q, threshold: 2}\n",
       "m.yaml:5:34: streams[0].alerts[0].threshold: must be >= 0 and <= 1"},
      {"version: 1\nstreams:\n  - url: a\n    alerts:\n      - {question: q, need: 3, of: 2}\n",
       "m.yaml:5:9: streams[0].alerts[0].need: need (3) must not exceed of (2)"},
      {"version: 1\nstreams:\n  - url: a\n    alerts:\n      - {name: a b, question: q}\n",
       "m.yaml:5:16: streams[0].alerts[0].name: use letters"},
      {"version: 1\nstreams:\n  - {url: a, name: x}\n  - {url: b, name: x}\n",
       "m.yaml:4:20: streams[1].name: 'x' is used twice"},
      {"version: 1\ndefaults:\n  url: a\nstreams: [{url: a}]\n",
       "m.yaml:3:3: defaults.url: unknown key"},
  };
  for (const Bad& b : cases) {
    try {
      pipeline::parse_monitor_config(b.text, "m.yaml", base());
      ADD_FAILURE() << "accepted:\n" << b.text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(b.expect, 0), 0u) << "got: " << msg << "\nwanted: " << b.expect;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;  // one line
    }
  }
}

}  // namespace
}  // namespace framescribe
