// sinks::search_hits_json: `framescribe search --json`'s array.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "framescribe/sinks/search_index.h"

namespace framescribe::sinks {
namespace {

TEST(SearchHitsJson, OneObjectPerHitTimesInSeconds) {
  EXPECT_EQ(nlohmann::json::parse(search_hits_json({})), nlohmann::json::array());
  const std::vector<SearchHit> hits = {
      {"a.mp4", "talks", 1'500'000'000, 4'000'000'000, 3, "a red \"circle\"", "a [red] circle"},
      {"b.mp4", "cams", 0, 250'000'000, 0, "dark", "[dark]"}};
  const std::string text = search_hits_json(hits);
  const nlohmann::json all = nlohmann::json::parse(text);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["video"], "a.mp4");
  EXPECT_EQ(all[0]["job"], "talks");
  EXPECT_EQ(all[0]["start"], 1.5);
  EXPECT_EQ(all[0]["end"], 4.0);
  EXPECT_EQ(all[0]["window"], 3);
  EXPECT_EQ(all[0]["text"], "a red \"circle\"");
  EXPECT_EQ(all[0]["snippet"], "a [red] circle");
  EXPECT_EQ(all[1]["end"], 0.25);
  // Fields in this order, indented by two.
  EXPECT_LT(text.find("\"video\""), text.find("\"job\""));
  EXPECT_LT(text.find("\"text\""), text.find("\"snippet\""));
  EXPECT_NE(text.find("\n    \"video\": \"a.mp4\""), std::string::npos) << text;
}

}  // namespace
}  // namespace framescribe::sinks
