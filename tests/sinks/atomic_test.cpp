// The file-sink contract (core/sink.h): nothing at the target until finish(), the previous file
// untouched by abort() or destruction, no temporary files left behind, kIo errors naming paths.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include "framescribe/core/error.h"
#include "framescribe/sinks/atomic_file.h"
#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

using testing::dir_entries;
using testing::read_text;

constexpr const char* kPrevious = "previous complete file\n";

bool has_temp_file(const std::filesystem::path& dir) {
  for (const std::string& name : dir_entries(dir)) {
    if (name.find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

// Every file format, by its make_sink name.
class FileSinkContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::filesystem::path target() const {
    const std::string ext = GetParam();
    return dir_ / ("run." + ext);
  }
  std::unique_ptr<core::EventSink> make() const {
    return make_sink(GetParam(), dir_.path(), "run", nullptr);
  }
  testing::TempDir dir_;
};

TEST_P(FileSinkContract, TargetAppearsOnlyAtFinish) {
  auto sink = make();
  EXPECT_EQ(sink->name(), GetParam());
  testing::feed_windows(*sink, testing::sample_run());
  EXPECT_FALSE(std::filesystem::exists(target()));
  EXPECT_TRUE(has_temp_file(dir_.path()));
  sink->finish(testing::sample_run().end);
  EXPECT_EQ(dir_entries(dir_.path()), std::vector<std::string>{"run." + GetParam()});
  EXPECT_GT(std::filesystem::file_size(target()), 10u);
}

TEST_P(FileSinkContract, PreviousFileStaysUntilFinishThenIsReplaced) {
  testing::write_text_file(target(), kPrevious);
  auto sink = make();
  testing::feed_windows(*sink, testing::sample_run());
  EXPECT_EQ(read_text(target()), kPrevious);
  sink->finish(testing::sample_run().end);
  const std::string now = read_text(target());
  EXPECT_NE(now, kPrevious);
  EXPECT_NE(now.find("Light turns green"), std::string::npos);
  EXPECT_FALSE(has_temp_file(dir_.path()));
}

TEST_P(FileSinkContract, AbortKeepsPreviousFileAndRemovesTemp) {
  testing::write_text_file(target(), kPrevious);
  auto sink = make();
  testing::feed_windows(*sink, testing::sample_run());
  sink->abort();
  sink->abort();  // idempotent
  EXPECT_EQ(read_text(target()), kPrevious);
  EXPECT_EQ(dir_entries(dir_.path()), std::vector<std::string>{"run." + GetParam()});
}

TEST_P(FileSinkContract, DestructionWithoutFinishAborts) {
  testing::write_text_file(target(), kPrevious);
  {
    auto sink = make();
    testing::feed_windows(*sink, testing::sample_run());
  }
  EXPECT_EQ(read_text(target()), kPrevious);
  EXPECT_EQ(dir_entries(dir_.path()), std::vector<std::string>{"run." + GetParam()});
}

TEST_P(FileSinkContract, ReusableForASecondRun) {
  auto sink = make();
  testing::feed(*sink, testing::sample_run());
  const std::string first = read_text(target());
  testing::feed(*sink, testing::sample_run());
  EXPECT_EQ(read_text(target()), first);  // nothing left over from the first run
}

TEST_P(FileSinkContract, DirectoryThatCannotBeCreatedIsAnIoErrorNamingThePath) {
  // Root ignores permission bits, so make the output "directory" sit below a regular file.
  testing::write_text_file(dir_ / "not-a-dir", "x");
  auto sink = make_sink(GetParam(), dir_ / "not-a-dir" / "out", "run", nullptr);
  try {
    sink->begin(testing::sample_run().info);
    FAIL() << "begin() should have thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find((dir_ / "not-a-dir" / "out").string()), std::string::npos)
        << e.what();
  }
  sink->abort();
}

TEST_P(FileSinkContract, RenameFailureIsAnIoErrorAndLeavesNoTemp) {
  std::filesystem::create_directories(target() / "occupied");  // a non-empty directory in the way
  auto sink = make();
  testing::feed_windows(*sink, testing::sample_run());
  try {
    sink->finish(testing::sample_run().end);
    FAIL() << "finish() should have thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find(target().string()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(has_temp_file(dir_.path()));
  EXPECT_TRUE(std::filesystem::is_directory(target() / "occupied"));
  sink->abort();  // still safe
}

INSTANTIATE_TEST_SUITE_P(AllFileFormats, FileSinkContract,
                         ::testing::Values("jsonl", "srt", "vtt", "md", "html"),
                         [](const auto& p) { return p.param; });

TEST(JsonlSink, StreamsEachWindowIntoTheTemporaryFile) {
  testing::TempDir dir;
  auto sink = make_jsonl_sink(dir / "run.jsonl");
  const testing::SampleRun run = testing::sample_run();
  sink->begin(run.info);
  sink->on_window(run.windows[0]);
  std::filesystem::path temp;
  for (const std::string& name : dir_entries(dir.path())) temp = dir / name;
  ASSERT_NE(temp.filename().string().find("run.jsonl.tmp-" + std::to_string(::getpid()) + "-"),
            std::string::npos)
      << temp;
  const std::string partial = read_text(temp);
  EXPECT_EQ(std::count(partial.begin(), partial.end(), '\n'), 2);  // window 0's two events
  sink->on_window(run.windows[1]);
  const std::string both = read_text(temp);
  EXPECT_EQ(std::count(both.begin(), both.end(), '\n'), 4);
  sink->finish(run.end);
  EXPECT_FALSE(std::filesystem::exists(temp));
}

TEST(AtomicFile, CommitCreatesParentsAndReplacesTarget) {
  testing::TempDir dir;
  const auto target = dir / "a" / "b" / "out.txt";
  {
    AtomicFile f(target);
    EXPECT_EQ(f.target(), target);
    EXPECT_EQ(f.temp_path().parent_path(), target.parent_path());
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
    f.write("hello ");
    f.write("world\n");
    f.flush();
    EXPECT_EQ(read_text(f.temp_path()), "hello world\n");
    EXPECT_FALSE(std::filesystem::exists(target));
    f.commit();
    EXPECT_FALSE(f.is_open());
  }
  EXPECT_EQ(read_text(target), "hello world\n");
  EXPECT_EQ(dir_entries(target.parent_path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, TwoAtOnceUseDistinctTemporaryFiles) {
  testing::TempDir dir;
  AtomicFile a(dir / "x.txt");
  AtomicFile b(dir / "x.txt");
  EXPECT_NE(a.temp_path(), b.temp_path());
  a.write("a");
  b.write("b");
  a.commit();
  EXPECT_EQ(read_text(dir / "x.txt"), "a");
  b.commit();  // last writer wins, whole
  EXPECT_EQ(read_text(dir / "x.txt"), "b");
}

TEST(AtomicFile, DiscardAndDestructorRemoveTheTemporaryFile) {
  testing::TempDir dir;
  {
    AtomicFile f(dir / "x.txt");
    f.write("partial");
    f.discard();
    EXPECT_FALSE(f.is_open());
    f.discard();
  }
  { AtomicFile g(dir / "y.txt"); }
  EXPECT_TRUE(dir_entries(dir.path()).empty());
}

TEST(AtomicFile, DirectoryTargetIsRejected) {
  testing::TempDir dir;
  try {
    AtomicFile f(dir.path() / "");
    FAIL() << "a path without a file name should be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace framescribe::sinks
