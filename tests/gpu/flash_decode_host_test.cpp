// The flash-decoding split plan (inference/src/cuda/ops.h, flash_decode_splits): pure host
// arithmetic, tested without a GPU (label unit). The rule: enough blocks to fill every SM at
// 1k and at 128k keys, no empty split, tiles of 32 keys, never more than the workspace holds.
#include <gtest/gtest.h>

#include "cuda/ops.h"
#include "framescribe/core/error.h"

namespace fc = framescribe::inference::cuda;

namespace {

// The engine's decode workspace: 4 queries' worth of the old kernel's 128 splits.
const std::int64_t kEngineWorkspace = fc::attention_decode_workspace_floats(4, 32, 128);

void expect_valid(const fc::FlashDecodeSplits& p, std::int64_t n_kv) {
  EXPECT_GE(p.n_splits, 1);
  EXPECT_EQ(p.keys_per_split % 32, 0);
  EXPECT_GE(std::int64_t{p.n_splits} * p.keys_per_split, n_kv);      // every key covered
  EXPECT_LT(std::int64_t{p.n_splits - 1} * p.keys_per_split, n_kv);  // no empty split
}

}  // namespace

TEST(FlashDecodeSplits, FillEverySmAt1kAnd128k) {
  for (int sms : {132, 114, 108}) {  // H200/H100 SXM, H100 PCIe, A100
    for (std::int64_t n_kv : {std::int64_t{1024}, std::int64_t{33835}, std::int64_t{131072}}) {
      SCOPED_TRACE(std::to_string(sms) + " SMs, " + std::to_string(n_kv) + " keys");
      const fc::FlashDecodeSplits p =
          fc::flash_decode_splits(n_kv, 32, 8, 128, sms, kEngineWorkspace);
      expect_valid(p, n_kv);
      EXPECT_GE(p.n_splits * 8, sms) << p.n_splits << " splits x 8 kv heads";
      EXPECT_LE(std::int64_t{p.n_splits} * 32 * 130, kEngineWorkspace);
    }
  }
}

TEST(FlashDecodeSplits, ShortCachesAndSmallWorkspaces) {
  fc::FlashDecodeSplits p = fc::flash_decode_splits(1, 32, 8, 128, 132, kEngineWorkspace);
  EXPECT_EQ(p.n_splits, 1);
  EXPECT_EQ(p.keys_per_split, 32);
  p = fc::flash_decode_splits(100, 32, 8, 128, 132, kEngineWorkspace);
  EXPECT_EQ(p.n_splits, 4);  // one tile each
  expect_valid(p, 100);
  // A workspace for 3 splits caps the plan, the keys still all covered.
  p = fc::flash_decode_splits(131072, 32, 8, 128, 132, 3 * 32 * 130);
  EXPECT_EQ(p.n_splits, 3);
  expect_valid(p, 131072);
  EXPECT_THROW(fc::flash_decode_splits(131072, 32, 8, 128, 132, 32 * 130 - 1), framescribe::Error);
  EXPECT_THROW(fc::flash_decode_splits(0, 32, 8, 128, 132, kEngineWorkspace), framescribe::Error);
}

TEST(FlashDecodeSplits, SupportedHeads) {
  EXPECT_TRUE(fc::flash_decode_supports(32, 8, 128));
  EXPECT_TRUE(fc::flash_decode_supports(16, 2, 64));  // group 8
  EXPECT_TRUE(fc::flash_decode_supports(4, 2, 32));
  EXPECT_FALSE(fc::flash_decode_supports(32, 2, 128));  // group 16
  EXPECT_FALSE(fc::flash_decode_supports(8, 2, 16));    // head_dim 16: the one-warp kernel
  EXPECT_FALSE(fc::flash_decode_supports(30, 8, 128));
}
