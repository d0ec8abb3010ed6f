// The HTML report in a real browser (Debian's headless chromium): every event element is
// there, every thumbnail decodes, and a screenshot is kept for people to look at (copied to
// $FS_ARTIFACT_DIR when set).
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

using testing::run_command;
using testing::shell_quote;

constexpr int kWindows = 8;  // demo_run: two events per window

std::string chromium() {
  const char* env = std::getenv("FS_CHROMIUM");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/chromium";
}

// Headless, no sandbox (containers, root), its own throwaway profile, killed if it hangs.
std::string browser_command(const std::filesystem::path& profile) {
  return "timeout -k 5 45 " + shell_quote(chromium()) +
         " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
         " --hide-scrollbars --user-data-dir=" +
         shell_quote(profile.string());
}

std::filesystem::path write_report(const std::filesystem::path& dir) {
  const auto path = dir / "report.html";
  auto sink = make_html_sink(path);
  testing::feed(*sink, testing::demo_run(kWindows));
  return path;
}

class HtmlInBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(chromium())) {
      GTEST_SKIP() << chromium() << " not found (set FS_CHROMIUM to a chromium binary)";
    }
  }
  testing::TempDir dir_;
};

TEST_F(HtmlInBrowser, EveryEventAndThumbnailIsInTheDom) {
  const auto report = write_report(dir_.path());
  // A copy with a probe that, once everything has loaded, writes the counts into the DOM.
  std::string html = testing::read_text(report);
  const std::size_t body_end = html.rfind("</body>");
  ASSERT_NE(body_end, std::string::npos);
  html.insert(body_end, R"(<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img.thumb')];
  const ok = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
  const p = document.createElement('pre');
  p.id = 'fs-probe';
  p.textContent = 'events=' + document.querySelectorAll('.event').length + ' thumbs=' +
      imgs.length + ' loaded=' + ok + ' marks=' + document.querySelectorAll('.mark').length;
  document.body.appendChild(p);
});
</script>
)");
  const auto probe = dir_ / "probe.html";
  testing::write_text_file(probe, html);

  const auto r =
      run_command(browser_command(dir_ / "profile") + " --dump-dom --virtual-time-budget=5000 " +
                      shell_quote("file://" + probe.string()),
                  dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m, std::regex(R"(id="fs-probe">events=(\d+) thumbs=(\d+) loaded=(\d+) marks=(\d+))")))
      << r.out.substr(0, 2000) << "\n"
      << r.err;
  const int n_events = 2 * kWindows;
  EXPECT_EQ(std::stoi(m[1]), n_events);
  EXPECT_EQ(std::stoi(m[2]), n_events);
  EXPECT_EQ(std::stoi(m[3]), n_events);  // every thumbnail decoded by the browser
  EXPECT_EQ(std::stoi(m[4]), n_events);
}

TEST_F(HtmlInBrowser, Screenshot) {
  const auto report = write_report(dir_.path());
  const auto png = dir_ / "report.png";
  const auto r =
      run_command(browser_command(dir_ / "profile") + " --screenshot=" + shell_quote(png.string()) +
                      " --window-size=1280,900 " + shell_quote("file://" + report.string()),
                  dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(png)) << r.err;
  const std::string bytes = testing::read_text(png);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank 1280x900 page compresses to a few KB; a page with text and pictures is far larger.
  EXPECT_GT(bytes.size(), 40'000u);
  if (const char* artifacts = std::getenv("FS_ARTIFACT_DIR"); artifacts && *artifacts) {
    std::filesystem::create_directories(artifacts);
    std::filesystem::copy_file(png, std::filesystem::path(artifacts) / "sinks_html_report.png",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(report, std::filesystem::path(artifacts) / "sinks_html_report.html",
                               std::filesystem::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace framescribe::sinks
