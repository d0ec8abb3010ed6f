// Exact output of each text format for the hand-written sample run (sink_test_util.h). The
// expected files are written out by hand here, not produced by the code under test.
#include <gtest/gtest.h>

#include <cstdio>

#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

using testing::read_text;
using testing::sample_run;

std::string console_output(const testing::SampleRun& run) {
  std::FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  {
    auto sink = make_console_sink(f);
    EXPECT_EQ(sink->name(), "console");
    testing::feed(*sink, run);
  }
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST(ConsoleSink, PrintsEventsSummaryAndTally) {
  EXPECT_EQ(console_output(sample_run()),
            "[00:02.5 - 00:06.0] A red car <b>enters</b> & \"stops\"\n"
            "[00:08.0] Door opens --> someone exits\n"
            "[00:08.0 - 00:20.0] Two people talk.\n"
            "                    They walk away | left.\n"
            "[00:08.5 - 00:11.0] Light turns green\n"
            "\n"
            "Summary:\n"
            "A car arrives and stops.\n"
            "Two people talk & leave.\n"
            "\n"
            "4 events in 2 windows; 7 frames sampled, 0 skipped; engine 4.2 s, wall 5.0 s; "
            "complete\n");
}

TEST(ConsoleSink, FailedRunWithoutSummary) {
  testing::SampleRun run = sample_run();
  run.windows.resize(1);
  run.windows[0].events.resize(1);
  run.end = core::RunEnd{.status = core::RunStatus::kFailed,
                         .error = "CUDA error: out of memory",
                         .summary = "",
                         .frames_sampled = 4,
                         .frames_skipped = 3,
                         .windows = 1,
                         .wall_s = 1.0,
                         .engine_s = 0.3};
  EXPECT_EQ(console_output(run),
            "[00:02.5 - 00:06.0] A red car <b>enters</b> & \"stops\"\n"
            "\n"
            "1 event in 1 window; 4 frames sampled, 3 skipped; engine 0.3 s, wall 1.0 s; "
            "failed: CUDA error: out of memory\n");
}

// Bytes that would make a terminal act: C0 controls but newline, DEL, C1 controls (UTF-8
// C2 80..C2 9F) and the bidi controls U+202A..U+202E, U+2066..U+2069.
::testing::AssertionResult terminal_safe(const std::string& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    const auto next = i + 1 < out.size() ? static_cast<unsigned char>(out[i + 1]) : 0;
    const auto third = i + 2 < out.size() ? static_cast<unsigned char>(out[i + 2]) : 0;
    if ((c < 0x20 && c != '\n') || c == 0x7f || (c == 0xC2 && next >= 0x80 && next < 0xA0) ||
        (c == 0xE2 && next == 0x80 && third >= 0xAA && third <= 0xAE) ||
        (c == 0xE2 && next == 0x81 && third >= 0xA6 && third <= 0xA9)) {
      return ::testing::AssertionFailure() << "byte " << int(c) << " at " << i << " of " << out;
    }
  }
  return ::testing::AssertionSuccess();
}

// The summary is the model's answer as it came: escape sequences in it (clear screen, an OSC 8
// hyperlink, a window title ended by BEL, a carriage-return overwrite, C1 CSI, a bidi override)
// must not reach the terminal. The controls are removed as events are (core::sanitize_text);
// what followed ESC stays as inert text.
TEST(ConsoleSink, ControlSequencesInModelTextNeverReachTheTerminal) {
  testing::SampleRun run = sample_run();
  run.windows.resize(1);
  run.windows[0].events.resize(1);
  run.windows[0].events[0].text = "A car\x1b[8m hides";
  run.end.summary =
      "Done.\x1b[2J\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\n"
      "\x1b]0;owned\x07ok\rX\b\n"
      "csi\xC2\x9B"
      "31m red \xE2\x80\xAE"
      "desrever\xE2\x81\xA6!";
  run.end.status = core::RunStatus::kFailed;
  run.end.error = "engine said \x1b[31mno";
  const std::string out = console_output(run);
  EXPECT_TRUE(terminal_safe(out));
  EXPECT_EQ(out,
            "[00:02.5 - 00:06.0] A car[8m hides\n"
            "\n"
            "Summary:\n"
            "Done.[2J]8;;http://evil.example/\\click]8;;\\\n"
            "]0;ownedokX\n"
            "csi31m red desrever!\n"
            "\n"
            "1 event in 2 windows; 7 frames sampled, 0 skipped; engine 4.2 s, wall 5.0 s; "
            "failed: engine said [31mno\n");
}

TEST(JsonlSink, OneObjectPerEventInArrivalOrderThenTheSummary) {
  testing::TempDir dir;
  auto sink = make_jsonl_sink(dir / "run.jsonl");
  EXPECT_EQ(sink->name(), "jsonl");
  testing::feed(*sink, sample_run());
  EXPECT_EQ(
      read_text(dir / "run.jsonl"),
      R"({"type":"event","video":"street_cam.mp4","start":2.5,"end":6.0,"text":"A red car <b>enters</b> & \"stops\"","window":0,"frame_times":[0.0,2.5,5.0,7.5],"model":"pixtral-tiny","prompt_hash":"0123456789abcdef","timed":true}
{"type":"event","video":"street_cam.mp4","start":8.0,"end":8.0,"text":"Door opens --> someone exits","window":0,"frame_times":[0.0,2.5,5.0,7.5],"model":"pixtral-tiny","prompt_hash":"0123456789abcdef","timed":true}
{"type":"event","video":"street_cam.mp4","start":8.0,"end":20.0,"text":"Two people talk.\n\n  They walk away | left.  ","window":1,"frame_times":[8.0,12.0,16.0],"model":"pixtral-tiny","prompt_hash":"fedcba9876543210","timed":false}
{"type":"event","video":"street_cam.mp4","start":8.5,"end":11.0,"text":"Light turns green","window":1,"frame_times":[8.0,12.0,16.0],"model":"pixtral-tiny","prompt_hash":"fedcba9876543210","timed":true}
{"type":"summary","video":"street_cam.mp4","summary":"A car arrives and stops.\nTwo people talk & leave.","status":"complete","events":4,"windows":2,"frames_sampled":7,"frames_skipped":0,"model":"pixtral-tiny"}
)");
}

TEST(JsonlSink, InvalidUtf8IsReplacedNotFatal) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.windows.resize(1);
  run.windows[0].events.resize(1);
  run.windows[0].events[0].text = "caf\xC3";  // a character cut in half
  run.windows[0].frame_pts_ns = {0};
  auto sink = make_jsonl_sink(dir / "run.jsonl");
  testing::feed(*sink, run);
  EXPECT_NE(read_text(dir / "run.jsonl").find("\"text\":\"caf\xEF\xBF\xBD\""), std::string::npos)
      << read_text(dir / "run.jsonl");
}

TEST(SrtSink, SortedNumberedCuesWithMinimumDuration) {
  testing::TempDir dir;
  auto sink = make_srt_sink(dir / "run.srt");
  EXPECT_EQ(sink->name(), "srt");
  testing::feed(*sink, sample_run());
  // The instant at 8.0 s lasts until the next later cue (8.5 s), less than the 1 s default;
  // "-->" in text becomes "->"; the blank line and the padding of the untimed event are gone.
  EXPECT_EQ(read_text(dir / "run.srt"),
            "1\n"
            "00:00:02,500 --> 00:00:06,000\n"
            "A red car <b>enters</b> & \"stops\"\n"
            "\n"
            "2\n"
            "00:00:08,000 --> 00:00:08,500\n"
            "Door opens -> someone exits\n"
            "\n"
            "3\n"
            "00:00:08,000 --> 00:00:20,000\n"
            "Two people talk.\n"
            "They walk away | left.\n"
            "\n"
            "4\n"
            "00:00:08,500 --> 00:00:11,000\n"
            "Light turns green\n"
            "\n");
}

TEST(SrtSink, LongTimesAndLoneInstant) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.windows.resize(1);
  const std::int64_t t = ((3 * 60 + 25) * 60 + 7) * 1'000'000'000LL + 123'456'789;  // 3:25:07.123
  run.windows[0].events = {core::Event{t, t, "Alarm ---> on", 0, true}};
  auto sink = make_srt_sink(dir / "run.srt");
  testing::feed(*sink, run);
  EXPECT_EQ(read_text(dir / "run.srt"), "1\n03:25:07,123 --> 03:25:08,123\nAlarm -> on\n\n");
}

TEST(VttSink, HeaderEscapingAndDotTimes) {
  testing::TempDir dir;
  auto sink = make_vtt_sink(dir / "run.vtt");
  EXPECT_EQ(sink->name(), "vtt");
  testing::feed(*sink, sample_run());
  EXPECT_EQ(read_text(dir / "run.vtt"),
            "WEBVTT\n"
            "\n"
            "1\n"
            "00:00:02.500 --> 00:00:06.000\n"
            "A red car &lt;b&gt;enters&lt;/b&gt; &amp; \"stops\"\n"
            "\n"
            "2\n"
            "00:00:08.000 --> 00:00:08.500\n"
            "Door opens -&gt; someone exits\n"
            "\n"
            "3\n"
            "00:00:08.000 --> 00:00:20.000\n"
            "Two people talk.\n"
            "They walk away | left.\n"
            "\n"
            "4\n"
            "00:00:08.500 --> 00:00:11.000\n"
            "Light turns green\n");
}

TEST(VttSink, NoEventsIsStillValid) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  for (auto& w : run.windows) w.events.clear();
  auto sink = make_vtt_sink(dir / "run.vtt");
  testing::feed(*sink, run);
  EXPECT_EQ(read_text(dir / "run.vtt"), "WEBVTT\n");
}

TEST(MarkdownSink, CompleteReport) {
  testing::TempDir dir;
  auto sink = make_markdown_sink(dir / "run.md");
  EXPECT_EQ(sink->name(), "md");
  testing::feed(*sink, sample_run());
  EXPECT_EQ(read_text(dir / "run.md"),
            "# street\\_cam.mp4\n"
            "\n"
            "- **Duration:** 00:20.0\n"
            "- **Size:** 1280x720\n"
            "- **Model:** pixtral-tiny\n"
            "- **Sampling:** 1 fps\n"
            "- **Started:** 2025-01-02T03:04:05Z\n"
            "- **Status:** complete\n"
            "- **Windows:** 2\n"
            "- **Frames:** 7 sampled, 0 skipped\n"
            "- **Events:** 4\n"
            "- **Time:** engine 4.2 s, wall 5.0 s\n"
            "\n"
            "## Summary\n"
            "\n"
            "A car arrives and stops.\n"
            "Two people talk &amp; leave.\n"
            "\n"
            "## Events\n"
            "\n"
            "| Time | Event |\n"
            "|---|---|\n"
            "| 00:02.5 - 00:06.0 | A red car \\<b\\>enters\\</b\\> \\& \"stops\" |\n"
            "| 00:08.0 | Door opens --\\> someone exits |\n"
            "| 00:08.0 - 00:20.0 (untimed) | Two people talk.<br>They walk away \\| left. |\n"
            "| 00:08.5 - 00:11.0 | Light turns green |\n");
}

TEST(MarkdownSink, FailedRunSaysSoAndCoversWhatWasDone) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.windows.resize(1);
  run.windows[0].events.resize(1);
  run.info.duration_ns = core::kNoTimestamp;
  run.info.width_px = 0;
  run.info.sampling = "";
  run.end = core::RunEnd{.status = core::RunStatus::kFailed,
                         .error = "CUDA error: out of memory.",
                         .summary = "",
                         .frames_sampled = 4,
                         .frames_skipped = 3,
                         .windows = 1,
                         .wall_s = 1.0,
                         .engine_s = 0.5};
  auto sink = make_markdown_sink(dir / "run.md");
  testing::feed(*sink, run);
  EXPECT_EQ(read_text(dir / "run.md"),
            "# street\\_cam.mp4\n"
            "\n"
            "- **Model:** pixtral-tiny\n"
            "- **Started:** 2025-01-02T03:04:05Z\n"
            "- **Status:** failed\n"
            "- **Windows:** 1\n"
            "- **Frames:** 4 sampled, 3 skipped\n"
            "- **Events:** 1\n"
            "- **Time:** engine 0.5 s, wall 1.0 s\n"
            "\n"
            "> **Note:** The run failed: CUDA error: out of memory. This report covers the video "
            "up to 00:10.0.\n"
            "\n"
            "## Summary\n"
            "\n"
            "_No summary was made._\n"
            "\n"
            "## Events\n"
            "\n"
            "| Time | Event |\n"
            "|---|---|\n"
            "| 00:02.5 - 00:06.0 | A red car \\<b\\>enters\\</b\\> \\& \"stops\" |\n");
}

// Model text keeps its Markdown links only to http, https and mailto: a javascript:, data: or
// vbscript: link (or any other destination) in a rendered report would be one click from
// running. The link syntax is broken with a backslash ("]\\(", "]\\:"), so the text shows as
// written. Expected lines written by hand.
TEST(ReportSinks, APartialRunSaysWhyAndHowFarNotFailed) {
  // A truncated input: every frame it gave was described, the reason is said, and it is not
  // called complete (nor failed).
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.end.status = core::RunStatus::kPartial;
  run.end.error = "the input ended early after 16 s of the 40 s it announces";
  const std::string console = console_output(run);
  EXPECT_NE(console.find("; partial: the input ended early after 16 s"), std::string::npos)
      << console;
  auto md = make_markdown_sink(dir / "run.md");
  testing::feed(*md, run);
  const std::string text = read_text(dir / "run.md");
  EXPECT_NE(text.find("Partial: the input ended early after 16 s of the 40 s it announces. "),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("failed"), std::string::npos) << text;
  auto jsonl = make_jsonl_sink(dir / "run.jsonl");
  testing::feed(*jsonl, run);
  EXPECT_NE(read_text(dir / "run.jsonl")
                .find(R"("status":"partial","reason":"the input ended early after 16 s)"),
            std::string::npos);
}

TEST(MarkdownSink, SummaryLinksOnlyToHttpHttpsAndMailto) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.end.summary =
      "[site](https://example.com/a) [up](HTTP://example.com) [mail](mailto:a@example.com)\n"
      "[x](javascript:alert(1)) and ![img](data:text/html;base64,PHNjcmlwdD4=)\n"
      "[v](  VBScript:msgbox(1)) [e](javascript\\:alert(1)) [rel](notes.html)\n"
      "[ref]: javascript:alert(document.cookie)\n"
      "[next](\n"
      "javascript:alert(2))\n"
      "<a href=\"javascript:alert(3)\">y</a> [ok]: https://example.com\n"
      "\x1b[2J[t](java\x1bscript:alert(4))";
  auto sink = make_markdown_sink(dir / "run.md");
  testing::feed(*sink, run);
  const std::string md = read_text(dir / "run.md");
  const std::size_t begin = md.find("## Summary\n\n");
  const std::size_t end = md.find("\n## Events");
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(md.substr(begin, end - begin),
            "## Summary\n"
            "\n"
            "[site](https://example.com/a) [up](HTTP://example.com) [mail](mailto:a@example.com)\n"
            "[x]\\(javascript:alert(1)) and ![img]\\(data:text/html;base64,PHNjcmlwdD4=)\n"
            "[v]\\(  VBScript:msgbox(1)) [e]\\(javascript\\:alert(1)) [rel]\\(notes.html)\n"
            "[ref]\\: javascript:alert(document.cookie)\n"
            "[next]\\(\n"
            "javascript:alert(2))\n"
            "&lt;a href=\"javascript:alert(3)\"&gt;y&lt;/a&gt; [ok]: https://example.com\n"
            "[2J[t]\\(javascript:alert(4))\n");
  // Event text in the table keeps no link syntax at all (brackets escaped).
  EXPECT_NE(md.find("Door opens --\\> someone exits"), std::string::npos);
}

TEST(MarkdownSink, StoppedBeforeAnyWindow) {
  testing::TempDir dir;
  testing::SampleRun run = sample_run();
  run.windows.clear();
  run.end = core::RunEnd{};
  run.end.status = core::RunStatus::kStopped;
  auto sink = make_markdown_sink(dir / "run.md");
  testing::feed(*sink, run);
  const std::string md = read_text(dir / "run.md");
  EXPECT_NE(md.find("> **Note:** The run was stopped before the end of the video. No window was "
                    "described.\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Events\n\n_No events._\n"), std::string::npos) << md;
}

}  // namespace
}  // namespace framescribe::sinks
