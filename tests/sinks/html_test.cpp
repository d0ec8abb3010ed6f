// The HTML report's structure: one element per event with its times, escaped text, one
// embedded JPEG per event showing the frame nearest its start, nothing loaded from outside.
// (What a browser makes of it is in html_browser_test.cpp.)
#include <gtest/gtest.h>

#include <regex>

#include "framescribe/core/base64.h"
#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/jpeg_probe.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::string render(const testing::SampleRun& run, HtmlOptions options = {}) {
  testing::TempDir dir;
  auto sink = make_html_sink(dir / "run.html", options);
  EXPECT_EQ(sink->name(), "html");
  testing::feed(*sink, run);
  return testing::read_text(dir / "run.html");
}

std::vector<std::vector<std::uint8_t>> thumbnails(const std::string& html) {
  std::vector<std::vector<std::uint8_t>> out;
  const std::regex img(
      R"re(<img class="thumb"[^>]* src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator();
       ++it) {
    out.push_back(core::decode_base64((*it)[1].str(), "thumbnail"));
  }
  return out;
}

TEST(HtmlSink, OneEventElementPerEventSortedWithTimes) {
  const std::string html = render(testing::sample_run());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_EQ(count(html, "<li class=\"event\""), 4u);
  EXPECT_EQ(count(html, "<a class=\"mark"), 4u);  // one timeline mark per event
  const std::size_t e1 = html.find(R"(id="event-1" data-start="2.500" data-end="6.000")");
  const std::size_t e2 = html.find(R"(id="event-2" data-start="8.000" data-end="8.000")");
  const std::size_t e3 = html.find(R"(id="event-3" data-start="8.000" data-end="20.000")");
  const std::size_t e4 = html.find(R"(id="event-4" data-start="8.500" data-end="11.000")");
  ASSERT_NE(e1, std::string::npos);
  ASSERT_NE(e2, std::string::npos);
  ASSERT_NE(e3, std::string::npos);
  ASSERT_NE(e4, std::string::npos);
  EXPECT_LT(e1, e2);
  EXPECT_LT(e2, e3);
  EXPECT_LT(e3, e4);
  EXPECT_NE(html.find("<span class=\"tag\">untimed</span>"), std::string::npos);
  EXPECT_NE(html.find("<h1>street_cam.mp4</h1>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Model</dt><dd>pixtral-tiny</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Duration</dt><dd>00:20.0</dd>"), std::string::npos);
  EXPECT_EQ(html.find("class=\"note"), std::string::npos);  // complete: no note
}

TEST(HtmlSink, TextIsEscapedAndLinesKept) {
  const std::string html = render(testing::sample_run());
  EXPECT_NE(html.find("<p class=\"event-text\">A red car &lt;b&gt;enters&lt;/b&gt; &amp; "
                      "&quot;stops&quot;</p>"),
            std::string::npos);
  EXPECT_EQ(html.find("<b>enters"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"event-text\">Two people talk.\nThey walk away | left.</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<p>A car arrives and stops.\nTwo people talk &amp; leave.</p>"),
            std::string::npos);
  EXPECT_NE(html.find("title=\"00:08.0: Two people talk. They walk away | left.\""),
            std::string::npos);
}

// Model text never becomes a link or markup: the summary's Markdown links and HTML stay
// escaped text, every href of the page is an in-page anchor, and control characters are
// removed as in the events.
TEST(HtmlSink, ModelTextNeverBecomesAnHrefOrMarkup) {
  testing::SampleRun run = testing::sample_run();
  run.end.summary =
      "[x](javascript:alert(1)) <a href=\"javascript:alert(2)\">y</a>\n"
      "<img src=x onerror=alert(3)> \x1b]8;;http://evil/\x07z\xC2\x9B";
  run.windows[0].events[0].text = "<a href='data:text/html,x'>e</a>\x1b[2J";
  const std::string html = render(run);
  EXPECT_NE(html.find("<p>[x](javascript:alert(1)) &lt;a href=&quot;javascript:alert(2)&quot;&gt;"
                      "y&lt;/a&gt;\n&lt;img src=x onerror=alert(3)&gt; ]8;;http://evil/z</p>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("&lt;a href=&#39;data:text/html,x&#39;&gt;e&lt;/a&gt;[2J"),
            std::string::npos);
  const std::regex href(R"re(href="([^"]*)")re");
  std::size_t n = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator();
       ++it, ++n) {
    EXPECT_EQ((*it)[1].str().rfind("#event-", 0), 0u) << (*it)[1].str();
  }
  EXPECT_EQ(n, 2 * run.windows[0].events.size() + 2 * run.windows[1].events.size());
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find("\xC2\x9B"), std::string::npos);
}

TEST(HtmlSink, SelfContained) {
  const std::string html = render(testing::sample_run());
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(count(html, "src=\""), count(html, "src=\"data:image/jpeg;base64,"));
}

TEST(HtmlSink, ThumbnailsAreTheNearestFramesScaledToTheWidth) {
  const std::string html = render(testing::sample_run());
  const auto thumbs = thumbnails(html);
  ASSERT_EQ(thumbs.size(), 4u);
  // Event start -> nearest frame: 2.5 s -> green (2.5), 8.0 s -> yellow (7.5, window 0),
  // 8.0 s and 8.5 s -> magenta (8.0, window 1).
  const testing::Rgb8 expected[] = {testing::kGreen, testing::kYellow, testing::kMagenta,
                                    testing::kMagenta};
  for (std::size_t i = 0; i < thumbs.size(); ++i) {
    SCOPED_TRACE("thumbnail " + std::to_string(i));
    ASSERT_GE(thumbs[i].size(), 4u);
    EXPECT_EQ(thumbs[i][0], 0xFF);  // SOI
    EXPECT_EQ(thumbs[i][1], 0xD8);
    const testing::JpegInfo info = testing::probe_jpeg(thumbs[i]);
    ASSERT_TRUE(info.ok) << info.error;
    EXPECT_EQ(info.width_px, 192);
    EXPECT_EQ(info.height_px, 108);  // 320x180 kept at 16:9
    // Lossy, full-range BT.601 round trip of a flat colour: within a few levels.
    EXPECT_NEAR(info.mean_r, expected[i].r, 6);
    EXPECT_NEAR(info.mean_g, expected[i].g, 6);
    EXPECT_NEAR(info.mean_b, expected[i].b, 6);
  }
  EXPECT_NE(html.find("<img class=\"thumb\" width=\"192\" height=\"108\" alt=\"Frame at 00:02.5\""),
            std::string::npos);
}

TEST(HtmlSink, ThumbnailWidthAndQualityOptions) {
  const std::string small =
      render(testing::sample_run(), {.thumb_width_px = 64, .jpeg_quality = 10});
  const std::string large =
      render(testing::sample_run(), {.thumb_width_px = 64, .jpeg_quality = 100});
  const auto a = thumbnails(small), b = thumbnails(large);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(testing::probe_jpeg(a[0]).width_px, 64);
  EXPECT_EQ(testing::probe_jpeg(a[0]).height_px, 36);
  EXPECT_LE(a[0].size(), b[0].size());
}

TEST(HtmlSink, OddSizedRgbaFramesAndMissingFrames) {
  testing::SampleRun run = testing::sample_run();
  auto rgba = std::make_shared<core::Image>(101, 77, core::PixelFormat::kRgba8);
  for (std::size_t i = 0; i < 101u * 77u; ++i) {
    rgba->data()[4 * i] = 200;
    rgba->data()[4 * i + 3] = 255;
  }
  run.windows[0].frames = {rgba, rgba, rgba, rgba};
  run.windows[1].frames.clear();  // a window without pixels: no thumbnail, still an event
  const std::string html = render(run);
  EXPECT_EQ(count(html, "<li class=\"event\""), 4u);
  const auto thumbs = thumbnails(html);
  ASSERT_EQ(thumbs.size(), 2u);
  const testing::JpegInfo info = testing::probe_jpeg(thumbs[0]);
  ASSERT_TRUE(info.ok) << info.error;
  EXPECT_EQ(info.width_px, 192);
  EXPECT_EQ(info.height_px, 146);  // 192 * 77 / 101 = 146.4 -> 146 (even)
  EXPECT_EQ(count(html, "<div class=\"no-thumb\""), 2u);
}

TEST(HtmlSink, StoppedAndFailedRunsSaySo) {
  testing::SampleRun run = testing::sample_run();
  run.end.status = core::RunStatus::kStopped;
  std::string html = render(run);
  EXPECT_NE(html.find("<p class=\"note stopped\" role=\"alert\"><strong>Stopped.</strong> The run "
                      "was stopped before the end of the video. This report covers the video up "
                      "to 00:20.0.</p>"),
            std::string::npos);
  run.end.status = core::RunStatus::kFailed;
  run.end.error = "engine <cuda> failed";
  html = render(run);
  EXPECT_NE(html.find("<strong>Failed.</strong> The run failed: engine &lt;cuda&gt; failed."),
            std::string::npos);
  EXPECT_NE(html.find("<dt>Status</dt><dd>failed</dd>"), std::string::npos);
}

TEST(HtmlSink, EmptyRun) {
  testing::SampleRun run = testing::sample_run();
  run.windows.clear();
  run.end = core::RunEnd{};
  const std::string html = render(run);
  EXPECT_NE(html.find("<p class=\"empty\">No events.</p>"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"empty\">No summary was made.</p>"), std::string::npos);
  EXPECT_NE(html.find("</html>\n"), std::string::npos);
}

}  // namespace
}  // namespace framescribe::sinks
