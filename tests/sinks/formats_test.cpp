// Format names and the files make_sink chooses.
#include <gtest/gtest.h>

#include "framescribe/core/error.h"
#include "framescribe/sinks/sinks.h"
#include "inference/test_files.h"
#include "sinks/sink_test_util.h"

namespace framescribe::sinks {
namespace {

using Names = std::vector<std::string>;

TEST(ParseFormats, ListsInOrderWithoutRepeats) {
  EXPECT_EQ(parse_formats("srt"), Names{"srt"});
  EXPECT_EQ(parse_formats("console,jsonl,srt,vtt,md,html"),
            (Names{"console", "jsonl", "srt", "vtt", "md", "html"}));
  EXPECT_EQ(parse_formats(" html , md,html"), (Names{"html", "md"}));
  EXPECT_EQ(parse_formats("all"), (Names{"console", "jsonl", "srt", "vtt", "md", "html"}));
  EXPECT_EQ(parse_formats("md,all"), (Names{"md", "console", "jsonl", "srt", "vtt", "html"}));
  EXPECT_EQ(format_names(), (Names{"console", "jsonl", "srt", "vtt", "md", "html"}));
}

void expect_invalid(std::string_view list, const std::string& fragment) {
  try {
    parse_formats(list);
    ADD_FAILURE() << "'" << list << "' should be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    const std::string msg = e.what();
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_NE(msg.find("console, jsonl, srt, vtt, md, html"), std::string::npos) << msg;
  }
}

TEST(ParseFormats, RejectsUnknownAndEmptyNamesListingTheValidOnes) {
  expect_invalid("srt,docx", "unknown output format 'docx'");
  expect_invalid("SRT", "unknown output format 'SRT'");
  expect_invalid("", "no output format");
  expect_invalid("  ", "no output format");
  expect_invalid("srt,,md", "empty name");
  expect_invalid("srt,", "empty name");
}

TEST(MakeSink, FileNamesFollowTheFormat) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {{"jsonl", "talk.jsonl"},
                                                                  {"srt", "talk.srt"},
                                                                  {"vtt", "talk.vtt"},
                                                                  {"md", "talk.md"},
                                                                  {"html", "talk.html"}};
  for (const auto& [format, file] : cases) {
    auto sink = make_sink(format, dir / "out", "talk", nullptr);
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(sink->name(), format);
    testing::feed(*sink, testing::sample_run());
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / file)) << file;
  }
  EXPECT_EQ(testing::dir_entries(dir / "out"),
            (Names{"talk.html", "talk.jsonl", "talk.md", "talk.srt", "talk.vtt"}));
}

TEST(MakeSink, ConsoleWritesNoFile) {
  testing::TempDir dir;
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  auto sink = make_sink("console", dir / "out", "talk", f);
  EXPECT_EQ(sink->name(), "console");
  testing::feed(*sink, testing::sample_run());
  EXPECT_GT(std::ftell(f), 100);
  std::fclose(f);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(MakeSink, RejectsUnknownFormatsAndBadStems) {
  testing::TempDir dir;
  EXPECT_THROW(make_sink("docx", dir.path(), "talk", nullptr), Error);
  EXPECT_THROW(make_sink("srt", dir.path(), "", nullptr), Error);
  EXPECT_THROW(make_sink("srt", dir.path(), "a/b", nullptr), Error);
  EXPECT_THROW(make_html_sink(dir / "x.html", HtmlOptions{.thumb_width_px = 4}), Error);
  EXPECT_THROW(make_html_sink(dir / "x.html", HtmlOptions{.jpeg_quality = 0}), Error);
}

}  // namespace
}  // namespace framescribe::sinks
