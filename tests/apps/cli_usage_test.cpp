// The command line as a user mistypes it: unknown options are usage errors (exit 2) that name the
// closest real option; -v and -q are global, accepted before or after the command's name.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "apps/cli_run.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;

testing::CliRun run(const std::vector<std::string>& args) {
  return testing::run_framescribe(
      args, fs::temp_directory_path() /
                ("fs-cli-usage-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".err"));
}

TEST(CliUsage, UnknownOptionsExit2AndSuggestTheClosestOption) {
  struct Case {
    std::vector<std::string> args;
    std::string suggestion;
  };
  for (const Case& c : std::vector<Case>{
           {{"summarize", "--max-edg", "512", "x.mp4"}, "did you mean --max-edge?"},
           {{"summarize", "x.mp4", "--fsp", "1"}, "did you mean --fps?"},
           {{"probe", "x.mp4", "--jsno"}, "did you mean --json?"},
           {{"search", "db", "q", "--vidoe", "a"}, "did you mean --video?"},
           {{"info", "--modle", "m"}, "did you mean --model?"},
       }) {
    const testing::CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << "\n" << r.err;
    EXPECT_NE(r.err.find(c.suggestion), std::string::npos) << r.err;
  }
  // Nothing close: still a usage error, and no made-up suggestion.
  const testing::CliRun far = run({"probe", "x.mp4", "--zzzzzzzzzz"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

TEST(CliUsage, VerboseAndQuietAreAcceptedAfterTheCommand) {
  const std::string clip = std::string(FS_SOURCE_DIR) + "/samples/shapes-demo.mp4";
  const testing::CliRun before = run({"-q", "probe", clip});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  const testing::CliRun after = run({"probe", clip, "-q"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(run({"probe", clip, "-v"}).exit_code, 0);
}

}  // namespace
}  // namespace framescribe
