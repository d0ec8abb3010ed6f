// The paged-KV kernels of the CUDA batch engine (inference/src/cuda/paged_kv.h, issue 24)
// against host references: paged attention over shuffled block tables with decode rows and
// prefill pieces of several sequences in one launch (with and without split-K), RoPE into
// slots, copy-on-write block copies over every layer, the logits row gather. Label gpu.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cuda/paged_kv.h"
#include "framescribe/core/error.h"
#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

constexpr double kAtol = 2e-4;  // attention_test.cpp's tolerance: bf16 output, float32 softmax
constexpr double kRtol = 8e-3;

// Rows of `pieces` against a pool [n_blocks * bt, kvd] through `tables`, softmax in double.
std::vector<float> reference(const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, const std::vector<fc::PagedPiece>& pieces,
                             const std::vector<std::int32_t>& tables, int n_rows, int n_head,
                             int n_head_kv, int hd, int bt) {
  const int qd = n_head * hd, kvd = n_head_kv * hd, group = n_head / n_head_kv;
  std::vector<float> out(static_cast<std::size_t>(n_rows) * qd, 0.0f);
  for (const fc::PagedPiece& p : pieces) {
    for (int i = 0; i < p.rows; ++i) {
      const int row = p.row0 + i, pos = p.pos0 + i;
      for (int h = 0; h < n_head; ++h) {
        const int kvh = h / group;
        std::vector<double> s(static_cast<std::size_t>(pos + 1));
        double mx = -1e300;
        for (int key = 0; key <= pos; ++key) {
          const std::int64_t slot =
              std::int64_t{tables[static_cast<std::size_t>(p.table_off + key / bt)]} * bt +
              key % bt;
          double dot = 0;
          for (int d = 0; d < hd; ++d)
            dot += double(q[static_cast<std::size_t>(row * qd + h * hd + d)]) *
                   k[static_cast<std::size_t>(slot * kvd + kvh * hd + d)];
          s[static_cast<std::size_t>(key)] = dot / std::sqrt(double(hd));
          mx = std::max(mx, s[static_cast<std::size_t>(key)]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int d = 0; d < hd; ++d) {
          double o = 0;
          for (int key = 0; key <= pos; ++key) {
            const std::int64_t slot =
                std::int64_t{tables[static_cast<std::size_t>(p.table_off + key / bt)]} * bt +
                key % bt;
            o += s[static_cast<std::size_t>(key)] *
                 v[static_cast<std::size_t>(slot * kvd + kvh * hd + d)];
          }
          out[static_cast<std::size_t>(row * qd + h * hd + d)] = static_cast<float>(o / sum);
        }
      }
    }
  }
  return out;
}

TEST(PagedKv, AttentionMatchesTheHostReference) {
  FS_REQUIRE_GPU();
  const int n_head = 8, n_head_kv = 2, bt = 16, n_blocks = 48;
  for (int hd : {64, 128}) {
    const int qd = n_head * hd, kvd = n_head_kv * hd;
    // Three sequences over shuffled blocks: A decodes at 299, B prefills 40 rows after 100,
    // C prefills its first 5 rows. Tables: A 19 blocks, B 9, C 1 (29 of 48).
    std::vector<std::int32_t> perm(n_blocks);
    std::iota(perm.begin(), perm.end(), 0);
    std::reverse(perm.begin(), perm.end());
    std::rotate(perm.begin(), perm.begin() + 7, perm.end());
    std::vector<std::int32_t> tables(perm.begin(), perm.begin() + 29);
    const std::vector<fc::PagedPiece> pieces = {{0, 1, 299, 0}, {1, 40, 100, 19}, {41, 5, 0, 28}};
    const int n_rows = 46;
    const std::vector<float> q = rounded_bf16(random_floats(std::size_t(n_rows) * qd, 1, -2, 2));
    const std::vector<float> k =
        rounded_bf16(random_floats(std::size_t(n_blocks) * bt * kvd, 2, -2, 2));
    const std::vector<float> v =
        rounded_bf16(random_floats(std::size_t(n_blocks) * bt * kvd, 3, -1, 1));
    const std::vector<float> want =
        reference(q, k, v, pieces, tables, n_rows, n_head, n_head_kv, hd, bt);
    auto dq = to_device_bf16(q), dk = to_device_bf16(k), dv = to_device_bf16(v);
    const std::vector<std::int32_t> tiles = fc::paged_tiles(pieces, n_head / n_head_kv);
    std::vector<std::int32_t> raw;
    for (const fc::PagedPiece& p : pieces)
      raw.insert(raw.end(), {p.row0, p.rows, p.pos0, p.table_off});
    DeviceArray<std::int32_t> dpieces(raw), dtiles(tiles), dtables(tables);
    DeviceArray<float> ws(std::size_t(8) * n_rows * n_head * (hd + 2));
    for (int splits : {1, 3, 8}) {
      SCOPED_TRACE("head_dim " + std::to_string(hd) + ", " + std::to_string(splits) + " splits");
      DeviceArray<fc::bf16> dout(std::size_t(n_rows) * qd);
      fc::PagedAttentionArgs a;
      a.q = dq.get();
      a.q_stride = qd;
      a.k = dk.get();
      a.v = dv.get();
      a.kv_stride = kvd;
      a.out = dout.get();
      a.out_stride = qd;
      a.n_head = n_head;
      a.n_head_kv = n_head_kv;
      a.head_dim = hd;
      a.block_tokens = bt;
      a.n_rows = n_rows;
      a.pieces = reinterpret_cast<const fc::PagedPiece*>(dpieces.get());
      a.tiles = dtiles.get();
      a.n_tiles = static_cast<std::int64_t>(tiles.size() / 2);
      a.tables = dtables.get();
      a.splits = {splits, splits == 1 ? 0 : (300 + splits - 1) / splits / 64 * 64 + 64};
      a.workspace = ws.get();
      a.workspace_floats = static_cast<std::int64_t>(ws.size());
      fc::launch_paged_attention(a, nullptr);
      EXPECT_TRUE(all_close(from_device_bf16(dout), want, kAtol, kRtol, "paged attention"));
    }
    // A workspace too small for the splits is refused on the host.
    fc::PagedAttentionArgs bad;
    bad.q = dq.get();
    bad.k = dk.get();
    bad.v = dv.get();
    bad.kv_stride = kvd;
    bad.n_head = n_head;
    bad.n_head_kv = n_head_kv;
    bad.head_dim = hd;
    bad.block_tokens = bt;
    bad.n_rows = n_rows;
    bad.splits = {8, 64};
    bad.workspace = ws.get();
    bad.workspace_floats = 10;
    EXPECT_THROW(fc::launch_paged_attention(bad, nullptr), Error);
  }
}

TEST(PagedKv, RopeToSlotsWritesTheRotationOfThePositionIntoTheSlot) {
  FS_REQUIRE_GPU();
  const int n_heads = 8, hd = 128, width = n_heads * hd, n_slots = 64;
  const std::vector<std::int32_t> positions{37, 3, 20}, slots{5, 63, 17};
  const std::vector<float> in = random_floats(3 * std::size_t(width), 7, -3.0f, 3.0f);
  DeviceArray<float2> table(std::size_t(40) * hd / 2);
  fc::launch_rope_table_1d(table.get(), 40, hd, 1e6, nullptr);
  DeviceArray<float> din(in);
  DeviceArray<std::int32_t> dpos(positions), dslot(slots);
  DeviceArray<fc::bf16> compact(3 * std::size_t(width)), pool(std::size_t(n_slots) * width);
  FS_CUDA_CHECK(cudaMemset(pool.get(), 0, pool.size() * sizeof(fc::bf16)));
  fc::launch_rope(din.get(), width, compact.get(), width, 3, n_heads, hd, table.get(), dpos.get(),
                  0, nullptr);
  fc::launch_rope_to_slots(din.get(), width, pool.get(), width, 3, n_heads, hd, table.get(),
                           dpos.get(), dslot.get(), nullptr);
  const std::vector<float> want = from_device_bf16(compact), got = from_device_bf16(pool);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < width; ++c)
      ASSERT_EQ(got[std::size_t(slots[r]) * width + c], want[std::size_t(r) * width + c]);
  EXPECT_EQ(got[0], 0.0f);  // slot 0 untouched
}

TEST(PagedKv, CopyBlocksCopiesKAndVOfEveryLayer) {
  FS_REQUIRE_GPU();
  const int n_layer = 3, n_blocks = 6;
  const std::int64_t block_elems = 16 * 256;
  const std::size_t n = std::size_t(n_layer) * n_blocks * block_elems;
  const std::vector<float> k = rounded_bf16(random_floats(n, 11)),
                           v = rounded_bf16(random_floats(n, 12));
  auto dk = to_device_bf16(k), dv = to_device_bf16(v);
  DeviceArray<std::int32_t> pairs(std::vector<std::int32_t>{1, 4, 2, 5});
  fc::launch_copy_kv_blocks(dk.get(), dv.get(), pairs.get(), 2, n_layer, n_blocks, block_elems,
                            nullptr);
  const std::vector<float> gk = from_device_bf16(dk), gv = from_device_bf16(dv);
  for (int l = 0; l < n_layer; ++l) {
    for (int b = 0; b < n_blocks; ++b) {
      const int src = b == 4 ? 1 : b == 5 ? 2 : b;
      for (std::int64_t i = 0; i < block_elems; i += 61) {
        const std::size_t at = (std::size_t(l) * n_blocks + b) * block_elems + i;
        const std::size_t from = (std::size_t(l) * n_blocks + src) * block_elems + i;
        ASSERT_EQ(gk[at], k[from]) << "layer " << l << " block " << b;
        ASSERT_EQ(gv[at], v[from]) << "layer " << l << " block " << b;
      }
    }
  }
  EXPECT_THROW(
      fc::launch_copy_kv_blocks(dk.get(), dv.get(), pairs.get(), 2, n_layer, n_blocks, 12, nullptr),
      Error);
}

TEST(PagedKv, GatherRowsPicksTheRowsAskedFor) {
  FS_REQUIRE_GPU();
  const std::int64_t dim = 300;
  const std::vector<float> x = random_floats(10 * dim, 21);
  const std::vector<std::int32_t> idx{9, 0, 4};
  DeviceArray<float> dx(x), out(3 * dim);
  DeviceArray<std::int32_t> didx(idx);
  fc::launch_gather_rows(dx.get(), dim, didx.get(), 3, out.get(), nullptr);
  const std::vector<float> got = out.download();
  for (int r = 0; r < 3; ++r)
    for (std::int64_t c = 0; c < dim; ++c)
      ASSERT_EQ(got[r * dim + c], x[idx[r] * dim + c]) << "row " << r;
}

}  // namespace
}  // namespace framescribe::gpu_test
