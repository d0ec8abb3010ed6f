// The subtitle files are read by a real parser: the ffmpeg command (its srt and webvtt
// demuxers) must read them without a word on stderr and convert every cue.
#include <gtest/gtest.h>

#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

using testing::run_command;
using testing::shell_quote;

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text.compare(pos, prefix.size(), prefix) == 0) ++n;
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return n;
}

class SubtitlesReadByFfmpeg : public ::testing::TestWithParam<std::string> {};

TEST_P(SubtitlesReadByFfmpeg, WithoutErrorsAndWithEveryCue) {
  testing::TempDir dir;
  const std::filesystem::path file = dir / ("run." + GetParam());
  auto sink = make_sink(GetParam(), dir.path(), "run", nullptr);
  testing::SampleRun run = testing::sample_run();
  // Plus a long run's worth of cues, with hours in the times.
  run.windows[1].events.push_back(
      core::Event{3 * 3600 * 1'000'000'000LL, 3 * 3600 * 1'000'000'000LL, "Much later", 1, true});
  testing::feed(*sink, run);

  const std::string timeout = "timeout -k 5 40 ";
  const auto probe = run_command(timeout + "ffmpeg -nostdin -hide_banner -v error -i " +
                                     shell_quote(file.string()) + " -map 0:s -c:s ass -f null -",
                                 dir.path());
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.err, "");

  const std::filesystem::path ass = dir / "run.ass";
  const auto convert = run_command(timeout + "ffmpeg -nostdin -hide_banner -v error -i " +
                                       shell_quote(file.string()) + " " + shell_quote(ass.string()),
                                   dir.path());
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  EXPECT_EQ(convert.err, "");
  const std::string converted = testing::read_text(ass);
  EXPECT_EQ(count_lines_starting(converted, "Dialogue:"), 5u) << converted;
  EXPECT_NE(converted.find("0:00:02.50,0:00:06.00"), std::string::npos) << converted;
  EXPECT_NE(converted.find("0:00:08.00,0:00:08.50"), std::string::npos) << converted;
  EXPECT_NE(converted.find("Two people talk.\\NThey walk away | left."), std::string::npos)
      << converted;
  EXPECT_NE(converted.find("3:00:00.00,3:00:01.00"), std::string::npos) << converted;
  EXPECT_NE(converted.find("Light turns green"), std::string::npos) << converted;
}

INSTANTIATE_TEST_SUITE_P(SrtAndVtt, SubtitlesReadByFfmpeg, ::testing::Values("srt", "vtt"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace framescribe::sinks
