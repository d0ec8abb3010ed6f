// sinks::search as `framescribe search` uses it: plain-text queries (punctuation is text, FTS5
// only with fts), and --video by name, file name or stem.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/sinks/search_index.h"

namespace framescribe::sinks {
namespace {

namespace fs = std::filesystem;

class Search : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fs-search-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = dir_ / "index.sqlite";
    SearchIndex index(db_);
    index.replace_events("talks/a.mp4", "j",
                         {{5'000'000'000, 12'000'000'000, "the driver's car turns left", 0},
                          {12'000'000'000, 15'000'000'000, "a dog crosses the road", 1}});
    index.replace_events("https://host/clips/b.mkv?sig=***", "j",
                         {{65'000'000'000, 70'000'000'000, "a left-turn by the red car", 3}});
    index.replace_events("c.mp4", "j",
                         {{1'000'000'000, 2'000'000'000, "AND OR NOT \"quoted\" (car)", 0}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> texts(const std::string& q, SearchOptions o = {}) {
    std::vector<std::string> out;
    for (const SearchHit& h : search(db_, q, o)) out.push_back(h.text);
    return out;
  }

  fs::path dir_, db_;
};

TEST(PlainTextQuery, QuotesEveryWordAndDoublesQuotes) {
  EXPECT_EQ(plain_text_query("red car"), "\"red\" \"car\"");
  EXPECT_EQ(plain_text_query("  driver's\t\"car\"  "), "\"driver's\" \"\"\"car\"\"\"");
  EXPECT_EQ(plain_text_query("NOT"), "\"NOT\"");
  EXPECT_EQ(plain_text_query(" \t\n"), "");
}

TEST(VideoMatches, NameFileNameOrStem) {
  EXPECT_TRUE(video_matches("talks/a.mp4", "talks/a.mp4"));
  EXPECT_TRUE(video_matches("talks/a.mp4", "a.mp4"));
  EXPECT_TRUE(video_matches("talks/a.mp4", "a"));
  EXPECT_TRUE(video_matches("https://host/clips/b.mkv?sig=***", "b"));
  EXPECT_FALSE(video_matches("talks/a.mp4", "talks"));
  EXPECT_FALSE(video_matches("talks/a.mp4", "mp4"));
  EXPECT_FALSE(video_matches("talks/ab.mp4", "a"));
  EXPECT_TRUE(video_matches("anything", ""));
}

TEST_F(Search, PunctuationInPlainTextIsSearchedAsText) {
  // Each of these was an FTS5 syntax error (or an operator) before plain-text queries.
  EXPECT_EQ(texts("driver's car"), std::vector<std::string>{"the driver's car turns left"});
  EXPECT_EQ(texts("left-turn"), std::vector<std::string>{"a left-turn by the red car"});
  // Hits come ordered by video name: c.mp4, https://host/..., talks/a.mp4.
  EXPECT_EQ(texts("(car)"),
            (std::vector<std::string>{"AND OR NOT \"quoted\" (car)", "a left-turn by the red car",
                                      "the driver's car turns left"}));
  EXPECT_EQ(texts("NOT quoted"), std::vector<std::string>{"AND OR NOT \"quoted\" (car)"});
  EXPECT_EQ(texts("\"unclosed"), std::vector<std::string>{});
  EXPECT_THROW(texts("   "), Error);
}

TEST_F(Search, FtsSyntaxOnlyWhenAsked) {
  SearchOptions fts;
  fts.fts = true;
  EXPECT_EQ(texts("dog OR parks", fts), std::vector<std::string>{"a dog crosses the road"});
  EXPECT_EQ(texts("tur*", fts), (std::vector<std::string>{"a left-turn by the red car",
                                                          "the driver's car turns left"}));
  try {
    texts("\"unclosed", fts);
    FAIL() << "a malformed FTS5 query must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("FTS5 syntax"), std::string::npos) << e.what();
  }
}

TEST_F(Search, VideoFilterTakesNameFileNameOrStem) {
  for (const char* v : {"talks/a.mp4", "a.mp4", "a"}) {
    SearchOptions o;
    o.video = v;
    EXPECT_EQ(texts("car", o), std::vector<std::string>{"the driver's car turns left"}) << v;
  }
  SearchOptions b;
  b.video = "b";
  EXPECT_EQ(texts("car", b), std::vector<std::string>{"a left-turn by the red car"});
  SearchOptions none;
  none.video = "talks";
  EXPECT_TRUE(texts("car", none).empty());
}

}  // namespace
}  // namespace framescribe::sinks
