// cuDNN fused attention on the device (label gpu): the plans the engine builds at load (text
// prefill: causal bottom-right, GQA, K/V from a cache layer by strides; decode: one query,
// lengths only) against cpu::attention on the same bf16 data, with the lengths read from device
// memory and one plan reused for several lengths. Skips without a GPU or without cuDNN; a plan
// cuDNN refuses (NOT_SUPPORTED) fails here, with cuDNN's message: on the GPU machine that is
// the information wanted.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "cpu/ops.h"
#include "cuda/cudnn_attention.h"
#include "cuda/handles.h"
#include "framescribe/core/error.h"
#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

namespace cpu = framescribe::inference::cpu;
namespace fi = framescribe::inference;
constexpr double kAtol = 2e-4;
constexpr double kRtol = 8e-3;  // attention_test.cpp: two bf16 steps

struct CudnnCase {
  int n_head, n_head_kv, head_dim;
  std::int64_t chunk, context;  // the plan's maxima
  bool decode;
  // (queries, cached keys before them) run on the one plan
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;
};
void PrintTo(const CudnnCase& c, std::ostream* os) {
  *os << (c.decode ? "decode" : "prefill") << "_heads" << c.n_head << "_" << c.n_head_kv << "_hd"
      << c.head_dim << "_ctx" << c.context;
}

class CudnnAttentionGpuTest : public ::testing::TestWithParam<CudnnCase> {};

TEST_P(CudnnAttentionGpuTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const fc::CudnnLibrary& lib = fc::CudnnLibrary::instance();
  if (!lib.available()) GTEST_SKIP() << "no cuDNN: " << lib.why_unavailable();
  const CudnnCase c = GetParam();
  FS_SKIP_IF_LARGE(double(c.chunk) * c.context * c.n_head * c.head_dim);
  const fc::SdpaShape shape =
      c.decode ? fc::decode_shape(c.n_head, c.n_head_kv, c.head_dim, c.context)
               : fc::text_prefill_shape(c.n_head, c.n_head_kv, c.head_dim, c.chunk, c.context);
  fc::Stream stream;
  fc::CudnnHandle handle(lib.api(), stream.get());
  fc::SdpaGraph graph(lib.api(), shape, lib.versions().library);
  graph.make_plan(handle.get());  // throws with cuDNN's last error if unsupported
  DeviceArray<std::uint8_t> ws(
      static_cast<std::size_t>(std::max<std::int64_t>(1, graph.workspace_bytes())));
  const std::int64_t qd = std::int64_t{c.n_head} * c.head_dim;
  const std::int64_t kvd = std::int64_t{c.n_head_kv} * c.head_dim;
  // The whole cache layer exists (as in the engine); only the first pos0 + n rows are valid.
  const std::vector<float> k = rounded_bf16(random_floats(c.context * kvd, 102));
  const std::vector<float> v = rounded_bf16(random_floats(c.context * kvd, 103));
  auto dk = to_device_bf16(k);
  auto dv = to_device_bf16(v);
  for (const auto& [n, pos0] : c.calls) {
    SCOPED_TRACE(std::to_string(n) + " queries after " + std::to_string(pos0));
    const std::vector<float> q = rounded_bf16(random_floats(n * qd, 101 + n, -3.0f, 3.0f));
    auto dq = to_device_bf16(q);
    DeviceArray<fc::bf16> dout(n * qd);
    DeviceArray<std::int32_t> lens(std::vector<std::int32_t>{static_cast<std::int32_t>(n),
                                                             static_cast<std::int32_t>(pos0 + n)});
    graph.run(handle.get(), {dq.get(), dk.get(), dv.get(), dout.get(), lens.get(), lens.get() + 1},
              ws.get(), graph.workspace_bytes());
    stream.synchronize();
    std::vector<float> ref(n * qd);
    cpu::attention(q.data(), qd, k.data(), v.data(), kvd, n, pos0 + n, c.n_head, c.n_head_kv,
                   c.head_dim, /*causal=*/true, pos0, ref.data());
    EXPECT_TRUE(all_close(from_device_bf16(dout), ref, kAtol, kRtol, "cuDNN attention"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudnnAttentionGpuTest,
    ::testing::Values(
        // Real Pixtral-12B text heads: chunks of a prefill, then a partial one.
        CudnnCase{32, 8, 128, 256, 4096, false, {{256, 0}, {256, 256}, {77, 1500}, {2, 9}}},
        CudnnCase{32, 8, 128, 1, 40000, true, {{1, 0}, {1, 1023}, {1, 33834}}},
        // Small heads, GQA 2 and none.
        CudnnCase{4, 2, 32, 64, 512, false, {{33, 5}, {64, 100}, {1, 400}}},
        CudnnCase{4, 2, 32, 1, 512, true, {{1, 0}, {1, 300}}},
        CudnnCase{8, 8, 64, 96, 1024, false, {{96, 0}, {17, 500}}}));

// Vision: a group of equal images as one padded batch, non-causal inside each image and never
// across images (cpu::attention per image).
TEST(CudnnVisionAttention, MatchesCpuPerImage) {
  FS_REQUIRE_GPU();
  const fc::CudnnLibrary& lib = fc::CudnnLibrary::instance();
  if (!lib.available()) GTEST_SKIP() << "no cuDNN: " << lib.why_unavailable();
  for (const auto& [n_img, patches, n_head, head_dim] :
       {std::tuple<int, int, int, int>{3, 100, 16, 64}, {2, 64, 4, 32}}) {
    SCOPED_TRACE(std::to_string(n_img) + " images of " + std::to_string(patches));
    const fc::SdpaShape shape = fc::vision_shape(n_head, head_dim, n_img, patches);
    fc::Stream stream;
    fc::CudnnHandle handle(lib.api(), stream.get());
    fc::SdpaGraph graph(lib.api(), shape, lib.versions().library);
    graph.make_plan(handle.get());
    DeviceArray<std::uint8_t> ws(
        static_cast<std::size_t>(std::max<std::int64_t>(1, graph.workspace_bytes())));
    const std::int64_t width = std::int64_t{n_head} * head_dim,
                       rows = std::int64_t{n_img} * patches;
    const std::vector<float> q = rounded_bf16(random_floats(rows * width, 111, -3.0f, 3.0f));
    const std::vector<float> k = rounded_bf16(random_floats(rows * width, 112));
    const std::vector<float> v = rounded_bf16(random_floats(rows * width, 113));
    auto dq = to_device_bf16(q);
    auto dk = to_device_bf16(k);
    auto dv = to_device_bf16(v);
    DeviceArray<fc::bf16> dout(rows * width);
    DeviceArray<std::int32_t> lens(std::vector<std::int32_t>(2 * n_img, patches));
    graph.run(handle.get(),
              {dq.get(), dk.get(), dv.get(), dout.get(), lens.get(), lens.get() + n_img}, ws.get(),
              graph.workspace_bytes());
    stream.synchronize();
    std::vector<float> ref(rows * width);
    for (int i = 0; i < n_img; ++i) {
      const std::int64_t off = std::int64_t{i} * patches * width;
      cpu::attention(q.data() + off, width, k.data() + off, v.data() + off, width, patches, patches,
                     n_head, n_head, head_dim, /*causal=*/false, 0, ref.data() + off);
    }
    EXPECT_TRUE(all_close(from_device_bf16(dout), ref, kAtol, kRtol, "cuDNN vision attention"));
  }
}

}  // namespace
}  // namespace framescribe::gpu_test
