// The decode-step kernels that read positions from device memory (decode_step.cu, issue 18),
// against the launchers they stand in for: RoPE and the f32 -> bf16 copy written into the
// cache row of each position, and the cuDNN decode lengths. Label gpu; never run so far.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

TEST(DecodeStep, RopeAndConvertLandInThePositionsRows) {
  FS_REQUIRE_GPU();
  const int n_heads = 8, head_dim = 128;
  const std::int64_t width = std::int64_t{n_heads} * head_dim, in_stride = width + 64;
  const std::int64_t n_pos = 40;
  const std::vector<std::int32_t> positions{37, 3};  // two rows, out of order
  const std::vector<float> in = random_floats(2 * in_stride, 61, -3.0f, 3.0f);
  DeviceArray<float2> table(static_cast<std::size_t>(n_pos * head_dim / 2));
  fc::launch_rope_table_1d(table.get(), n_pos, head_dim, 1e6, nullptr);
  DeviceArray<float> din(in);
  DeviceArray<std::int32_t> dpos(positions);
  // Reference: the ordinary launcher into compact rows, with the same positions.
  DeviceArray<fc::bf16> compact(static_cast<std::size_t>(2 * width));
  fc::launch_rope(din.get(), in_stride, compact.get(), width, 2, n_heads, head_dim, table.get(),
                  dpos.get(), 0, nullptr);
  DeviceArray<fc::bf16> cache(static_cast<std::size_t>(n_pos * width));
  FS_CUDA_CHECK(cudaMemset(cache.get(), 0, n_pos * width * sizeof(fc::bf16)));
  fc::launch_rope_into_rows(din.get(), in_stride, cache.get(), width, 2, n_heads, head_dim,
                            table.get(), dpos.get(), nullptr);
  const std::vector<float> want = from_device_bf16(compact);
  const std::vector<float> got = from_device_bf16(cache);
  for (int r = 0; r < 2; ++r) {
    for (std::int64_t c = 0; c < width; ++c) {
      ASSERT_EQ(got[positions[r] * width + c], want[r * width + c]) << "row " << r << " col " << c;
    }
  }
  EXPECT_EQ(got[0], 0.0f);  // row 0 untouched

  // v: the plain conversion into the rows of the positions.
  DeviceArray<fc::bf16> vcache(static_cast<std::size_t>(n_pos * width));
  FS_CUDA_CHECK(cudaMemset(vcache.get(), 0, n_pos * width * sizeof(fc::bf16)));
  fc::launch_f32_to_bf16_rows(din.get(), in_stride, vcache.get(), width, 2, width, dpos.get(),
                              nullptr);
  const std::vector<float> v = from_device_bf16(vcache);
  for (int r = 0; r < 2; ++r) {
    for (std::int64_t c = 0; c < width; c += 97) {
      EXPECT_EQ(v[positions[r] * width + c], round_bf16(in[r * in_stride + c]));
    }
  }

  DeviceArray<std::int32_t> lengths(2);
  fc::launch_decode_lengths(dpos.get(), lengths.get(), nullptr);
  EXPECT_EQ(lengths.download(), (std::vector<std::int32_t>{1, 38}));
}

}  // namespace
}  // namespace framescribe::gpu_test
