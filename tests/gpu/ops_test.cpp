// Elementwise and normalisation kernels of the CUDA backend against the float32 CPU reference
// (inference/src/cpu/ops.h, pixtral_cpu.h) on seeded random data, at real Pixtral sizes
// (text 5120 / ffn 14336, vision 1024 / ffn 4096) and awkward ones (1, 17, 100).
//
// Tolerances. Inputs are rounded to bf16 before both sides see them, so the only differences
// are (a) float32 vs the CPU's double reductions (~1e-6 relative) and (b) the final rounding
// of a bf16 output: round-to-nearest-even moves a value by at most half a bf16 ulp, i.e.
// 2^-9 of its magnitude for the worst mantissa, and at most 2^-8 of the reference when the
// float32 result itself differs by a float32 ulp around a rounding boundary. Hence
// kBf16Rtol = 5e-3 (2^-8 = 3.9e-3 plus margin), and atol 1e-6 for values near zero.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cpu/ops.h"
#include "cpu/pixtral_cpu.h"
#include "dummy_weights.h"
#include "framescribe/inference/sampling.h"
#include "gpu/gpu_test_util.h"
#include "sample_loop.h"

namespace framescribe::gpu_test {
namespace {

namespace cpu = framescribe::inference::cpu;
constexpr double kBf16Rtol = 5e-3;
constexpr double kTinyAtol = 1e-6;

struct Shape {
  std::int64_t rows, dim;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.dim;
}

class RmsNormTest : public ::testing::TestWithParam<Shape> {};

TEST_P(RmsNormTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const auto [rows, dim] = GetParam();
  const std::string what = std::to_string(rows) + "x" + std::to_string(dim);
  std::vector<float> x = random_floats(rows * dim, 1, -2.0f, 2.0f);
  const std::vector<float> add = random_floats(rows * dim, 2, -1.0f, 1.0f);
  const std::vector<float> w = rounded_bf16(random_floats(dim, 3, 0.5f, 1.5f));
  auto dw = to_device_bf16(w);

  // Plain, bf16 out.
  {
    DeviceArray<float> dx(x);
    DeviceArray<fc::bf16> dy(rows * dim);
    fc::launch_rms_norm(dx.get(), nullptr, dw.get(), rows, dim, 1e-5f, dy.get(), nullptr);
    std::vector<float> ref(rows * dim);
    cpu::rms_norm(x.data(), w.data(), rows, dim, 1e-5f, ref.data());
    EXPECT_TRUE(all_close(from_device_bf16(dy), ref, kTinyAtol, kBf16Rtol, "bf16 " + what));
    // x is left alone without a residual.
    EXPECT_TRUE(all_close(dx.download(), x, 0.0, 0.0, "x untouched " + what));
  }
  // Fused residual add, float32 out in place: x += add; x = norm(x). Float32 output: only the
  // statistic differs (float32 vs double), ~1e-6 relative.
  {
    DeviceArray<float> dx(x), dadd(add);
    fc::launch_rms_norm(dx.get(), dadd.get(), dw.get(), rows, dim, 1e-5f, dx.get(), nullptr);
    std::vector<float> sum(rows * dim), ref(rows * dim);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = x[i] + add[i];
    cpu::rms_norm(sum.data(), w.data(), rows, dim, 1e-5f, ref.data());
    EXPECT_TRUE(all_close(dx.download(), ref, kTinyAtol, 1e-5, "f32 fused " + what));
  }
  // Fused residual add, bf16 out: the updated residual is written back exactly.
  {
    DeviceArray<float> dx(x), dadd(add);
    DeviceArray<fc::bf16> dy(rows * dim);
    fc::launch_rms_norm(dx.get(), dadd.get(), dw.get(), rows, dim, 1e-5f, dy.get(), nullptr);
    std::vector<float> sum(rows * dim), ref(rows * dim);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = x[i] + add[i];
    cpu::rms_norm(sum.data(), w.data(), rows, dim, 1e-5f, ref.data());
    EXPECT_TRUE(all_close(dx.download(), sum, 0.0, 0.0, "residual written back " + what));
    EXPECT_TRUE(all_close(from_device_bf16(dy), ref, kTinyAtol, kBf16Rtol, "bf16 fused " + what));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormTest,
                         ::testing::Values(Shape{1, 5120}, Shape{17, 5120}, Shape{64, 1024},
                                           Shape{3, 17}, Shape{5, 100}, Shape{1, 1}));

TEST(RopeTable, OneDimensionalMatchesCpuAngles) {
  FS_REQUIRE_GPU();
  // Real text sizes (hd 128, theta 1e9) up to 128k positions, and a small head.
  for (const auto& [hd, theta, n_pos] :
       {std::tuple<int, double, std::int64_t>{128, 1e9, 131072}, {32, 1e6, 100}}) {
    DeviceArray<float2> table(static_cast<std::size_t>(n_pos * hd / 2));
    fc::launch_rope_table_1d(table.get(), n_pos, hd, theta, nullptr);
    const std::vector<float2> got = table.download();
    for (std::int64_t pos :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{17}, n_pos / 3, n_pos - 1}) {
      std::vector<float> ref(static_cast<std::size_t>(hd));
      cpu::rope_1d_angles(hd, theta, pos, ref.data());
      std::vector<float> g(static_cast<std::size_t>(hd));
      for (int j = 0; j < hd / 2; ++j) {
        g[2 * j] = got[pos * hd / 2 + j].x;
        g[2 * j + 1] = got[pos * hd / 2 + j].y;
      }
      // Both compute the angle in double and round cos/sin once: equal to a float ulp.
      EXPECT_TRUE(all_close(g, ref, 1e-6, 1e-6, "pos " + std::to_string(pos)));
    }
  }
}

TEST(RopeTable, TwoDimensionalMatchesCpuAngles) {
  FS_REQUIRE_GPU();
  for (const auto& [hd, side] : {std::pair<int, int>{64, 64}, {16, 5}}) {
    DeviceArray<float2> table(static_cast<std::size_t>(side * side * hd / 2));
    fc::launch_rope_table_2d(table.get(), side, hd, 10000.0, nullptr);
    const std::vector<float2> got = table.download();
    for (const auto& [r, c] : {std::pair<int, int>{0, 0}, {0, side - 1}, {side - 1, 0}, {3, 2}}) {
      std::vector<float> ref(static_cast<std::size_t>(hd));
      cpu::rope_2d_angles(hd, 10000.0, r, c, ref.data());
      std::vector<float> g(static_cast<std::size_t>(hd));
      const std::int64_t base = (static_cast<std::int64_t>(r) * side + c) * hd / 2;
      for (int j = 0; j < hd / 2; ++j) {
        g[2 * j] = got[base + j].x;
        g[2 * j + 1] = got[base + j].y;
      }
      EXPECT_TRUE(
          all_close(g, ref, 1e-6, 1e-6, "cell " + std::to_string(r) + "," + std::to_string(c)));
    }
  }
}

struct RopeCase {
  std::int64_t rows;
  int n_heads, head_dim;
  std::int64_t in_stride, pos0;
  bool two_d;
};

class RopeApplyTest : public ::testing::TestWithParam<RopeCase> {};

TEST_P(RopeApplyTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const RopeCase c = GetParam();
  const std::int64_t width = std::int64_t{c.n_heads} * c.head_dim;
  const std::vector<float> in = random_floats(c.rows * c.in_stride, 7, -3.0f, 3.0f);
  // Angles per row, as the engine chooses them: 1-D positions pos0 + r, or 2-D cells.
  const int side = 64;
  std::vector<std::int32_t> positions(static_cast<std::size_t>(c.rows));
  std::vector<float> cos_sin(static_cast<std::size_t>(c.rows * c.head_dim));
  for (std::int64_t r = 0; r < c.rows; ++r) {
    if (c.two_d) {
      const int row = static_cast<int>((r * 7) % side), col = static_cast<int>((r * 3) % side);
      positions[r] = row * side + col;
      cpu::rope_2d_angles(c.head_dim, 10000.0, row, col, cos_sin.data() + r * c.head_dim);
    } else {
      cpu::rope_1d_angles(c.head_dim, 1e9, c.pos0 + r, cos_sin.data() + r * c.head_dim);
    }
  }
  const std::int64_t n_table = c.two_d ? side * side : c.pos0 + c.rows;
  DeviceArray<float2> table(static_cast<std::size_t>(n_table * c.head_dim / 2));
  if (c.two_d) {
    fc::launch_rope_table_2d(table.get(), side, c.head_dim, 10000.0, nullptr);
  } else {
    fc::launch_rope_table_1d(table.get(), n_table, c.head_dim, 1e9, nullptr);
  }
  DeviceArray<float> din(in);
  DeviceArray<std::int32_t> dpos(positions);
  DeviceArray<fc::bf16> dout(static_cast<std::size_t>(c.rows * width));
  fc::launch_rope(din.get(), c.in_stride, dout.get(), width, c.rows, c.n_heads, c.head_dim,
                  table.get(), c.two_d ? dpos.get() : nullptr, c.pos0, nullptr);

  // Reference: the first `width` columns of each input row, rotated in float32.
  std::vector<float> ref(static_cast<std::size_t>(c.rows * width));
  for (std::int64_t r = 0; r < c.rows; ++r)
    std::copy(in.begin() + r * c.in_stride, in.begin() + r * c.in_stride + width,
              ref.begin() + r * width);
  cpu::apply_rope(ref.data(), c.rows, c.n_heads, c.head_dim, width, cos_sin.data());
  // a*cos - b*sin can cancel: 1e-5 absolute covers float32 (and FMA) differences there.
  EXPECT_TRUE(all_close(from_device_bf16(dout), ref, 1e-5, kBf16Rtol, "rope"));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RopeApplyTest,
    ::testing::Values(RopeCase{17, 32, 128, 6144, 0, false},    // text q inside fused qkv
                      RopeCase{5, 8, 128, 6144, 40000, false},  // text k, far position
                      RopeCase{1, 32, 128, 4096, 131071, false},
                      RopeCase{64, 16, 64, 3072, 0, true},  // vision q, 2-D
                      RopeCase{17, 4, 16, 200, 3, false},   // tiny heads, odd stride
                      RopeCase{13, 4, 16, 64, 0, true}));

class SiluMulTest : public ::testing::TestWithParam<Shape> {};

TEST_P(SiluMulTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const auto [rows, n_ff] = GetParam();
  const std::vector<float> gu = random_floats(rows * 2 * n_ff, 11, -6.0f, 6.0f);
  DeviceArray<float> dgu(gu);
  DeviceArray<fc::bf16> dout(rows * n_ff);
  fc::launch_silu_mul(dgu.get(), rows, n_ff, dout.get(), nullptr);
  std::vector<float> gate(rows * n_ff), up(rows * n_ff);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < n_ff; ++i) {
      gate[r * n_ff + i] = gu[r * 2 * n_ff + i];
      up[r * n_ff + i] = gu[r * 2 * n_ff + n_ff + i];
    }
  }
  cpu::silu_mul(gate.data(), up.data(), rows * n_ff);
  EXPECT_TRUE(all_close(from_device_bf16(dout), gate, kTinyAtol, kBf16Rtol, "silu_mul"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, SiluMulTest,
                         ::testing::Values(Shape{1, 14336}, Shape{17, 14336}, Shape{33, 4096},
                                           Shape{3, 17}, Shape{1, 1}));

class GeluBiasTest : public ::testing::TestWithParam<Shape> {};

TEST_P(GeluBiasTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  const auto [rows, cols] = GetParam();
  const std::vector<float> x = random_floats(rows * cols, 13, -5.0f, 5.0f);
  const std::vector<float> bias = rounded_bf16(random_floats(cols, 14, -1.0f, 1.0f));
  DeviceArray<float> dx(x);
  auto dbias = to_device_bf16(bias);
  DeviceArray<fc::bf16> dout(rows * cols);
  fc::launch_gelu_bias(dx.get(), dbias.get(), rows, cols, dout.get(), nullptr);
  std::vector<float> ref(x);
  for (std::int64_t i = 0; i < rows * cols; ++i) ref[i] += bias[i % cols];
  cpu::gelu_erf(ref.data(), rows * cols);
  EXPECT_TRUE(all_close(from_device_bf16(dout), ref, kTinyAtol, kBf16Rtol, "gelu_bias"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GeluBiasTest,
                         ::testing::Values(Shape{17, 5120}, Shape{1, 5120}, Shape{7, 17},
                                           Shape{2, 100}));

TEST(Convert, F32ToBf16StridedAndAddBias) {
  FS_REQUIRE_GPU();
  const std::int64_t rows = 17, cols = 1024, in_stride = 3072, out_stride = 1024;
  const std::vector<float> in = random_floats(rows * in_stride, 17, -100.0f, 100.0f);
  DeviceArray<float> din(in);
  DeviceArray<fc::bf16> dout(rows * out_stride);
  // Columns 2048..3071 of each row (the v third of a fused qkv row).
  fc::launch_f32_to_bf16(din.get() + 2048, in_stride, dout.get(), out_stride, rows, cols, nullptr);
  std::vector<float> ref(rows * out_stride);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      ref[r * out_stride + c] = round_bf16(in[r * in_stride + 2048 + c]);
  // Round-to-nearest-even on both sides: exact.
  EXPECT_TRUE(all_close(from_device_bf16(dout), ref, 0.0, 0.0, "f32_to_bf16"));

  const std::vector<float> x = random_floats(rows * 17, 18);
  const std::vector<float> bias = rounded_bf16(random_floats(17, 19));
  DeviceArray<float> dx(x);
  auto dbias = to_device_bf16(bias);
  fc::launch_add_bias(dx.get(), dbias.get(), rows, 17, nullptr);
  std::vector<float> ref2(x);
  for (std::size_t i = 0; i < ref2.size(); ++i) ref2[i] += bias[i % 17];
  EXPECT_TRUE(all_close(dx.download(), ref2, 0.0, 0.0, "add_bias"));
}

TEST(Embed, GathersTokensAndScattersImageRows) {
  FS_REQUIRE_GPU();
  for (const std::int64_t d : {std::int64_t{5120}, std::int64_t{17}}) {
    const std::int64_t vocab = 1000, n = 37;
    const std::vector<float> table = rounded_bf16(random_floats(vocab * d, 21));
    std::vector<std::int32_t> tokens(n), image_row(n, -1);
    std::int32_t next = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      tokens[i] = static_cast<std::int32_t>((i * 389) % vocab);
      if (i % 3 == 1) image_row[i] = next++;
    }
    const std::vector<float> images = random_floats(next * d, 22, 5.0f, 6.0f);
    auto dtable = to_device_bf16(table);
    DeviceArray<std::int32_t> dtok(tokens), drow(image_row);
    DeviceArray<float> dimg(images), dout(n * d);
    fc::launch_embed(dtok.get(), drow.get(), n, dtable.get(), dimg.get(), d, dout.get(), nullptr);
    std::vector<float> ref(n * d);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* src =
          image_row[i] >= 0 ? images.data() + image_row[i] * d : table.data() + tokens[i] * d;
      std::copy(src, src + d, ref.begin() + i * d);
    }
    EXPECT_TRUE(all_close(dout.download(), ref, 0.0, 0.0, "embed d=" + std::to_string(d)));
  }
}

TEST(Argmax, LargestLowestIndexNeverNan) {
  FS_REQUIRE_GPU();
  const std::int64_t n = 131072;
  std::vector<float> logits = random_floats(n, 31, -10.0f, 10.0f);
  logits[777] = 50.0f;
  logits[90000] = 50.0f;  // a tie: the lower index wins
  logits[5] = std::numeric_limits<float>::quiet_NaN();
  DeviceArray<float> dl(logits);
  DeviceArray<std::int32_t> dout(1);
  fc::launch_argmax(dl.get(), n, -1, dout.get(), nullptr);
  EXPECT_EQ(dout.download()[0], 777);

  for (const std::int64_t m : {std::int64_t{1}, std::int64_t{17}, std::int64_t{1025}}) {
    std::vector<float> v = random_floats(m, 32 + static_cast<std::uint32_t>(m));
    v[m - 1] = 2.0f;
    DeviceArray<float> dv(v);
    fc::launch_argmax(dv.get(), m, -1, dout.get(), nullptr);
    EXPECT_EQ(dout.download()[0], m - 1) << m;
  }
  std::vector<float> all_nan(64, std::numeric_limits<float>::quiet_NaN());
  all_nan[40] = -std::numeric_limits<float>::infinity();
  DeviceArray<float> dn(all_nan);
  fc::launch_argmax(dn.get(), 64, -1, dout.get(), nullptr);
  EXPECT_EQ(dout.download()[0], 40);
}

TEST(Argmax, MaskedIndexReadsAsMinusInfinityAsTheHostGreedyChoice) {
  FS_REQUIRE_GPU();
  namespace fi = framescribe::inference;
  DeviceArray<std::int32_t> dout(1);
  // The masked maximum loses to the runner-up; the tie rule still holds among the rest.
  std::vector<float> logits = random_floats(131072, 33, -10.0f, 10.0f);
  logits[10] = 60.0f;  // masked
  logits[300] = 50.0f;
  logits[200] = 50.0f;
  DeviceArray<float> dl(logits);
  fc::launch_argmax(dl.get(), 131072, 10, dout.get(), nullptr);
  EXPECT_EQ(dout.download()[0], 200);
  EXPECT_EQ(fi::greedy_choice(logits, 10), 200);
  // Every other logit NaN: the masked index itself (-inf is not NaN), as on the host.
  std::vector<float> nans(100, std::numeric_limits<float>::quiet_NaN());
  DeviceArray<float> dn(nans);
  fc::launch_argmax(dn.get(), 100, 7, dout.get(), nullptr);
  EXPECT_EQ(dout.download()[0], 7);
  EXPECT_EQ(fi::greedy_choice(nans, 7), 7);
  // Random rows with many exact ties: the device equals the host on every one.
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    std::vector<float> v = random_floats(50000 + seed * 977, 400 + seed, -4.0f, 4.0f);
    for (float& x : v) x = std::round(x);  // 9 distinct values: ties everywhere
    const std::int64_t masked = seed % 2 == 0 ? -1 : static_cast<std::int64_t>(seed * 131);
    DeviceArray<float> dv(v);
    fc::launch_argmax(dv.get(), static_cast<std::int64_t>(v.size()), masked, dout.get(), nullptr);
    EXPECT_EQ(dout.download()[0], fi::greedy_choice(v, static_cast<std::int32_t>(masked)))
        << "seed " << seed;
  }
}

TEST(FillUniform, DeterministicAndInRange) {
  FS_REQUIRE_GPU();
  const std::int64_t n = 100003;
  DeviceArray<fc::bf16> a(n), b(n);
  fc::launch_fill_uniform(a.get(), n, 42, 0.5f, 1.0f, nullptr);
  fc::launch_fill_uniform(b.get(), n, 42, 0.5f, 1.0f, nullptr);
  const std::vector<float> va = from_device_bf16(a), vb = from_device_bf16(b);
  EXPECT_TRUE(all_close(va, vb, 0.0, 0.0, "same seed"));
  double mean = 0.0;
  float lo = 10.0f, hi = -10.0f;
  for (float v : va) {
    mean += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  mean /= static_cast<double>(n);
  EXPECT_GE(lo, 0.5f);
  EXPECT_LE(hi, 1.5f);
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_GT(hi - lo, 0.9f);  // really spread, not a constant
  // Bit-exact with the host definition the CPU engine's dummy loader uses (dummy_weights.h).
  const framescribe::inference::dummy::Fill f{42, 0.5f, 1.0f};
  std::int64_t mismatches = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (va[static_cast<std::size_t>(i)] !=
        framescribe::inference::dummy::value(f, static_cast<std::uint64_t>(i)))
      ++mismatches;
  }
  EXPECT_EQ(mismatches, 0) << "of " << n;
}

}  // namespace
}  // namespace framescribe::gpu_test
