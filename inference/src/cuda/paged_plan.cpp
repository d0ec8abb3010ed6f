// Host planning of the paged attention launch (paged_kv.h): tiles of (row, head) items per
// piece and the split of the key range. Pure arithmetic, tested without a GPU.
#include <algorithm>

#include "cuda/paged_kv.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {
namespace {
constexpr int kMaxSplits = 128;
constexpr std::int64_t kMinKeysPerSplit = 256;
constexpr std::int64_t kKeyTile = 64;  // attention.cuh's kKeyTile
}  // namespace

std::vector<std::int32_t> paged_tiles(std::span<const PagedPiece> pieces, int group) {
  FS_CHECK(group > 0, kInvalidArgument, "paged attention: group " << group);
  std::vector<std::int32_t> tiles;
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    const std::int64_t items = std::int64_t{pieces[p].rows} * group;
    for (std::int64_t i = 0; i < items; i += kPagedItemsPerTile) {
      tiles.push_back(static_cast<std::int32_t>(p));
      tiles.push_back(static_cast<std::int32_t>(i));
    }
  }
  return tiles;
}

PagedSplits paged_attention_splits(std::int64_t n_tiles, int n_head_kv, std::int64_t max_keys,
                                   std::int64_t n_rows, int n_head, int head_dim, int sms,
                                   std::int64_t workspace_floats) {
  PagedSplits s;
  const std::int64_t base = n_tiles * n_head_kv;
  if (base <= 0 || max_keys <= 0) return s;
  const std::int64_t want = (std::int64_t{std::max(sms, 1)} * 4 + base - 1) / base;
  const std::int64_t by_keys = std::max<std::int64_t>(1, max_keys / kMinKeysPerSplit);
  const std::int64_t per_split_floats = n_rows * n_head * (head_dim + 2);
  const std::int64_t by_ws = per_split_floats > 0 ? workspace_floats / per_split_floats : 0;
  std::int64_t n = std::min({want, by_keys, by_ws, std::int64_t{kMaxSplits}});
  if (n <= 1) return s;
  std::int64_t per = (max_keys + n - 1) / n;
  per = (per + kKeyTile - 1) / kKeyTile * kKeyTile;
  n = (max_keys + per - 1) / per;  // no empty split at the longest sequence
  if (n <= 1) return s;
  s.n_splits = static_cast<int>(n);
  s.keys_per_split = per;
  return s;
}

}  // namespace framescribe::inference::cuda
