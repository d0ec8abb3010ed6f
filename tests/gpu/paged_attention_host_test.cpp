// The paged attention launch plan (inference/src/cuda/paged_kv.h: paged_tiles,
// paged_attention_splits): pure host arithmetic, tested without a GPU (label unit). Tiles cover
// every (row, head) item of every piece exactly once, never straddle pieces; splits fill the
// SMs for few decode rows, stay at 1 for big prefill steps, leave no empty split at the longest
// sequence and never exceed the workspace.
#include <gtest/gtest.h>

#include <vector>

#include "cuda/paged_kv.h"
#include "framescribe/core/error.h"

namespace fc = framescribe::inference::cuda;

TEST(PagedTiles, CoverEveryItemOncePerPiece) {
  const std::vector<fc::PagedPiece> pieces = {{0, 1, 500, 0}, {1, 7, 0, 32}, {8, 4, 16, 33}};
  for (int group : {1, 4, 8}) {
    const std::vector<std::int32_t> t = fc::paged_tiles(pieces, group);
    ASSERT_EQ(t.size() % 2, 0u);
    std::vector<std::vector<int>> seen(pieces.size());
    for (std::size_t p = 0; p < pieces.size(); ++p)
      seen[p].assign(static_cast<std::size_t>(pieces[p].rows * group), 0);
    for (std::size_t i = 0; i < t.size(); i += 2) {
      const auto p = static_cast<std::size_t>(t[i]);
      ASSERT_LT(p, pieces.size());
      const int items = pieces[p].rows * group;
      ASSERT_LT(t[i + 1], items);
      for (int k = t[i + 1]; k < std::min(items, t[i + 1] + fc::kPagedItemsPerTile); ++k)
        ++seen[p][static_cast<std::size_t>(k)];
    }
    for (const auto& s : seen)
      for (int n : s) EXPECT_EQ(n, 1) << "group " << group;
  }
  EXPECT_THROW(fc::paged_tiles(pieces, 0), framescribe::Error);
}

TEST(PagedSplits, DecodeOf16SequencesFillsTheSms) {
  const std::int64_t ws = 64 * 32 * 32 * 130;  // the engine's workspace at head_dim 128
  for (int sms : {132, 114, 108}) {
    for (std::int64_t keys : {std::int64_t{1024}, std::int64_t{33836}, std::int64_t{131072}}) {
      SCOPED_TRACE(std::to_string(sms) + " SMs, " + std::to_string(keys) + " keys");
      // 16 decode rows, GQA 32/8: one tile of 4 items per row.
      const fc::PagedSplits s = fc::paged_attention_splits(16, 8, keys, 16, 32, 128, sms, ws);
      ASSERT_GT(s.n_splits, 1);
      EXPECT_EQ(s.keys_per_split % 64, 0);
      EXPECT_GE(std::int64_t{s.n_splits} * s.keys_per_split, keys);
      EXPECT_LT(std::int64_t{s.n_splits - 1} * s.keys_per_split, keys);
      EXPECT_GE(16 * 8 * s.n_splits, 2 * sms);
      EXPECT_LE(std::int64_t{s.n_splits} * 16 * 32 * 130, ws);
    }
  }
}

TEST(PagedSplits, BigStepsAndShortCachesDoNotSplit) {
  const std::int64_t ws = 64 * 32 * 32 * 130;
  // A 2048-row prefill chunk: 512 tiles x 8 kv heads already fill the card.
  EXPECT_EQ(fc::paged_attention_splits(512, 8, 4096, 2048, 32, 128, 132, ws).n_splits, 1);
  // Fewer keys than one split's minimum.
  EXPECT_EQ(fc::paged_attention_splits(1, 8, 100, 1, 32, 128, 132, ws).n_splits, 1);
  // No workspace: never split.
  EXPECT_EQ(fc::paged_attention_splits(1, 8, 100000, 1, 32, 128, 132, 0).n_splits, 1);
  // Nothing to do.
  EXPECT_EQ(fc::paged_attention_splits(0, 8, 0, 0, 32, 128, 132, ws).n_splits, 1);
}
