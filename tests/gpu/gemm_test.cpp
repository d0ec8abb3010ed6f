// cuBLASLt GEMM wrapper and the patch embedding (im2col + GEMM) against cpu::matmul_nt and a
// direct convolution. Inputs are rounded to bf16 first, so both sides multiply the same
// numbers; products of two bf16 values are exact in float32, and the only difference is the
// float32 accumulation order against the CPU's double sums: a normalised error of ~1e-6 over
// k = 14336. kF32Tol = 1e-4 leaves room for split-K or tree orders cuBLASLt may pick. A bf16
// output adds its rounding (up to 2^-8 relative per element): kBf16Tol = 5e-3.
#include <gtest/gtest.h>

#include "cpu/ops.h"
#include "cuda/gemm.h"
#include "cuda/handles.h"
#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

namespace cpu = framescribe::inference::cpu;
constexpr double kF32Tol = 1e-4;
constexpr double kBf16Tol = 5e-3;

struct GemmShape {
  std::int64_t m, n, k;
};
// Readable, stable test names (ctest lists the parameter).
void PrintTo(const GemmShape& s, std::ostream* os) {
  *os << "m" << s.m << "_n" << s.n << "_k" << s.k;
}

class GemmTest : public ::testing::TestWithParam<GemmShape> {};

TEST_P(GemmTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const auto [m, n, k] = GetParam();
  const std::string what = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  const std::vector<float> x = rounded_bf16(random_floats(m * k, 41));
  const std::vector<float> w = rounded_bf16(random_floats(n * k, 42));
  const std::vector<float> y0 = random_floats(m * n, 43);
  std::vector<float> ref(m * n);
  cpu::matmul_nt(x.data(), m, k, w.data(), n, nullptr, ref.data());

  fc::Stream stream;
  fc::Gemm gemm(stream.get());
  auto dx = to_device_bf16(x);
  auto dw = to_device_bf16(w);
  // float32 out.
  DeviceArray<float> dy(m * n);
  gemm.matmul_nt(dx.get(), k, dw.get(), m, n, k, dy.get(), fc::GemmOut::kF32, n, 0.0f);
  stream.synchronize();
  EXPECT_TRUE(norm_close(dy.download(), ref, kF32Tol, "f32 " + what));
  // float32, accumulated into y (beta = 1: the fused residual add).
  DeviceArray<float> dacc(y0);
  gemm.matmul_nt(dx.get(), k, dw.get(), m, n, k, dacc.get(), fc::GemmOut::kF32, n, 1.0f);
  stream.synchronize();
  std::vector<float> ref_acc(ref);
  for (std::size_t i = 0; i < ref_acc.size(); ++i) ref_acc[i] += y0[i];
  EXPECT_TRUE(norm_close(dacc.download(), ref_acc, kF32Tol, "accumulate " + what));
  // bf16 out.
  DeviceArray<fc::bf16> db(m * n);
  gemm.matmul_nt(dx.get(), k, dw.get(), m, n, k, db.get(), fc::GemmOut::kBf16, n, 0.0f);
  stream.synchronize();
  EXPECT_TRUE(norm_close(from_device_bf16(db), ref, kBf16Tol, "bf16 " + what));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmShape{17, 6144,
                                                     5120},  // fused text qkv, a short chunk
                                           GemmShape{1, 5120, 4096},    // wo in decode
                                           GemmShape{3, 5120, 14336},   // w2
                                           GemmShape{64, 8192, 1024},   // fused vision w1|w3
                                           GemmShape{2, 131072, 5120},  // logits
                                           GemmShape{256, 1024, 768},   // patch embedding
                                           GemmShape{17, 33, 17},       // awkward: odd everything
                                           GemmShape{1, 1, 16}, GemmShape{100, 100, 100}));

TEST(Gemm, StridedAndOffsetOperands) {
  FS_REQUIRE_GPU();
  // x rows with a larger stride and y written into a wider array at a column offset, as the
  // engine does for the logits of the last rows.
  const std::int64_t m = 5, n = 64, k = 96, ldx = 160, ldy = 200;
  const std::vector<float> x = rounded_bf16(random_floats(m * ldx, 51));
  const std::vector<float> w = rounded_bf16(random_floats(n * k, 52));
  std::vector<float> xc(m * k);
  for (std::int64_t r = 0; r < m; ++r)
    std::copy(x.begin() + r * ldx, x.begin() + r * ldx + k, xc.begin() + r * k);
  std::vector<float> ref(m * n);
  cpu::matmul_nt(xc.data(), m, k, w.data(), n, nullptr, ref.data());
  fc::Stream stream;
  fc::Gemm gemm(stream.get());
  auto dx = to_device_bf16(x);
  auto dw = to_device_bf16(w);
  DeviceArray<float> dy(m * ldy + 8);
  gemm.matmul_nt(dx.get(), ldx, dw.get(), m, n, k, dy.get() + 8, fc::GemmOut::kF32, ldy, 0.0f);
  stream.synchronize();
  const std::vector<float> y = dy.download();
  std::vector<float> got(m * n);
  for (std::int64_t r = 0; r < m; ++r)
    std::copy(y.begin() + 8 + r * ldy, y.begin() + 8 + r * ldy + n, got.begin() + r * n);
  EXPECT_TRUE(norm_close(got, ref, kF32Tol, "strided"));
}

TEST(PatchEmbed, Im2colThenGemmIsTheConvolution) {
  FS_REQUIRE_GPU();
  // A 3 x H x W image, 16-pixel patches; weight [n_embd, 3, 16, 16] (no bias). Reference: the
  // convolution by its definition, on bf16-rounded pixels (the engine casts to the weight dtype).
  for (const auto& [h, w_px, n_embd] :
       {std::tuple<int, int, std::int64_t>{48, 32, 64}, {256, 512, 1024}, {16, 16, 17}}) {
    const int p = 16, rows = h / p, cols = w_px / p;
    const std::int64_t pl = 3LL * p * p, n = std::int64_t{rows} * cols;
    const std::vector<float> pixels = random_floats(3LL * h * w_px, 61, -2.0f, 2.0f);
    const std::vector<float> weight = rounded_bf16(random_floats(n_embd * pl, 62, -0.1f, 0.1f));
    std::vector<float> ref(n * n_embd, 0.0f);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        for (std::int64_t o = 0; o < n_embd; ++o) {
          double acc = 0.0;
          for (int ch = 0; ch < 3; ++ch)
            for (int ky = 0; ky < p; ++ky)
              for (int kx = 0; kx < p; ++kx)
                acc += static_cast<double>(round_bf16(
                           pixels[(ch * h + r * p + ky) * std::int64_t{w_px} + c * p + kx])) *
                       weight[o * pl + (ch * p + ky) * p + kx];
          ref[(std::int64_t{r} * cols + c) * n_embd + o] = static_cast<float>(acc);
        }
      }
    }
    fc::Stream stream;
    fc::Gemm gemm(stream.get());
    DeviceArray<float> dpix(pixels);
    DeviceArray<fc::bf16> dpatches(n * pl);
    auto dw = to_device_bf16(weight);
    DeviceArray<float> dy(n * n_embd);
    fc::launch_im2col_patches(dpix.get(), h, w_px, p, dpatches.get(), stream.get());
    gemm.matmul_nt(dpatches.get(), pl, dw.get(), n, n_embd, pl, dy.get(), fc::GemmOut::kF32, n_embd,
                   0.0f);
    stream.synchronize();
    EXPECT_TRUE(norm_close(dy.download(), ref, kF32Tol,
                           "patch embed " + std::to_string(w_px) + "x" + std::to_string(h)));
  }
}

}  // namespace
}  // namespace framescribe::gpu_test
