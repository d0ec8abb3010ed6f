// CPU kernels against hand-computed cases, over typical and awkward shapes (1, 17, not
// multiples of the SIMD width). Tolerances: atol + |ref| * rtol elementwise, with rtol 1e-6 for
// single operations in float32 (a few ulps) unless a comment says otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "cpu/pixtral_cpu.h"

namespace cpu = framescribe::inference::cpu;

namespace {

std::vector<float> random_vec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& ref, double atol,
                  double rtol) {
  ASSERT_EQ(got.size(), ref.size());
  double norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << i;
    EXPECT_NEAR(got[i], ref[i], atol + std::fabs(ref[i]) * rtol) << "index " << i;
    norm += ref[i] * ref[i];
  }
  EXPECT_GT(norm, 0.0) << "a test on zeros proves nothing";
}

class MatmulShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(MatmulShapes, MatchesDoublePrecisionLoop) {
  auto [m, k, n] = GetParam();
  std::vector<float> x = random_vec(static_cast<std::size_t>(m) * k, 1),
                     w = random_vec(static_cast<std::size_t>(n) * k, 2),
                     b = random_vec(static_cast<std::size_t>(n), 3),
                     y(static_cast<std::size_t>(m) * n);
  cpu::matmul_nt(x.data(), m, k, w.data(), n, b.data(), y.data());
  std::vector<double> ref(y.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = b[j];
      for (int t = 0; t < k; ++t) s += static_cast<double>(x[i * k + t]) * w[j * k + t];
      ref[static_cast<std::size_t>(i) * n + j] = s;
    }
  // Accumulation is in double; only the final rounding to float remains (plus sqrt(k) slack).
  expect_close(y, ref, 1e-6 * std::sqrt(static_cast<double>(k)), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulShapes,
                         ::testing::Values(std::make_tuple(1, 1, 1), std::make_tuple(1, 17, 5),
                                           std::make_tuple(17, 33, 19), std::make_tuple(3, 64, 160),
                                           std::make_tuple(64, 128, 96),
                                           std::make_tuple(130, 257, 65)));

TEST(MatmulNt, HandComputed) {
  // [1 2; 3 4] . [[1 0]; [1 1]; [0 2]]^T + [0.5, 0, -1]
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 0, 1, 1, 0, 2}, b = {0.5f, 0, -1}, y(6);
  cpu::matmul_nt(x.data(), 2, 2, w.data(), 3, b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1.5f, 3, 3, 3.5f, 7, 7}));
}

TEST(RmsNorm, HandComputed) {
  // x = [3, 4]: mean(x^2) = 12.5; y = w * x / sqrt(12.5 + eps)
  std::vector<float> x = {3, 4}, w = {1, 2}, y(2);
  cpu::rms_norm(x.data(), w.data(), 1, 2, 1e-5f, y.data());
  const double inv = 1.0 / std::sqrt(12.5 + 1e-5);
  expect_close(y, {3 * inv, 8 * inv}, 0, 1e-6);
  // In place, several rows, awkward width.
  std::vector<float> r = random_vec(3 * 17, 7), wr = random_vec(17, 8), ref_in = r;
  cpu::rms_norm(r.data(), wr.data(), 3, 17, 1e-5f, r.data());
  std::vector<double> ref;
  for (int row = 0; row < 3; ++row) {
    double ss = 0;
    for (int i = 0; i < 17; ++i)
      ss += ref_in[row * 17 + i] * static_cast<double>(ref_in[row * 17 + i]);
    for (int i = 0; i < 17; ++i)
      ref.push_back(wr[i] * ref_in[row * 17 + i] / std::sqrt(ss / 17 + 1e-5));
  }
  expect_close(r, ref, 1e-7, 1e-6);
}

TEST(Rope, RotatesInterleavedPairsAndKeepsNorms) {
  // One row, two heads of dim 4; pair j of each head turns by angle a_j.
  std::vector<float> x = {1, 0, 0, 1, 2, 3, -1, 4};
  const double a0 = 0.3, a1 = -1.2;
  std::vector<float> cs = {static_cast<float>(std::cos(a0)), static_cast<float>(std::sin(a0)),
                           static_cast<float>(std::cos(a1)), static_cast<float>(std::sin(a1))};
  cpu::apply_rope(x.data(), 1, 2, 4, 8, cs.data());
  auto rot = [](double re, double im, double a) {
    return std::pair<double, double>{re * std::cos(a) - im * std::sin(a),
                                     re * std::sin(a) + im * std::cos(a)};
  };
  auto [p0, q0] = rot(1, 0, a0);
  auto [p1, q1] = rot(0, 1, a1);
  auto [p2, q2] = rot(2, 3, a0);
  auto [p3, q3] = rot(-1, 4, a1);
  expect_close(x, {p0, q0, p1, q1, p2, q2, p3, q3}, 1e-7, 1e-6);
}

TEST(Rope, TwoDimensionalAnglesFollowThePixtralLayout) {
  // head_dim 16: f_j = 10000^(-2j/16), j < 8. Pairs 0..3 use row * f_{0,2,4,6}; pairs 4..7
  // use col * f_{1,3,5,7} (docs/pixtral.md 2.4).
  std::vector<float> cs(16);
  cpu::rope_2d_angles(16, 10000.0, 3, 5, cs.data());
  std::vector<double> ref;
  for (int k = 0; k < 8; ++k) {
    const int j = k < 4 ? 2 * k : 2 * (k - 4) + 1;
    const double a = (k < 4 ? 3 : 5) * std::pow(10000.0, -2.0 * j / 16);
    ref.push_back(std::cos(a));
    ref.push_back(std::sin(a));
  }
  expect_close(cs, ref, 1e-7, 1e-6);
  // Position (0, 0) is the identity rotation.
  cpu::rope_2d_angles(16, 10000.0, 0, 0, cs.data());
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(cs[2 * k], 1.0f);
    EXPECT_EQ(cs[2 * k + 1], 0.0f);
  }
}

TEST(Rope, OneDimensionalAnglesUseTheConfiguredTheta) {
  std::vector<float> cs(8);
  cpu::rope_1d_angles(8, 1e9, 7, cs.data());
  std::vector<double> ref;
  for (int j = 0; j < 4; ++j) {
    const double a = 7 * std::pow(1e9, -2.0 * j / 8);
    ref.push_back(std::cos(a));
    ref.push_back(std::sin(a));
  }
  expect_close(cs, ref, 1e-7, 1e-6);
}

TEST(Attention, CausalTwoTokensHandComputed) {
  // One head, head_dim 2 (scale 1/sqrt 2). Token 0 sees only itself; token 1 sees both.
  std::vector<float> q = {1, 0, 0, 1}, k = {1, 0, 1, 1}, v = {1, 2, 3, 4}, out(4);
  cpu::attention(q.data(), 2, k.data(), v.data(), 2, 2, 2, 1, 1, 2, true, 0, out.data());
  const double s = 1 / std::sqrt(2.0);
  // Token 1: scores q1.k0 = 0, q1.k1 = 1 -> weights softmax(0, s).
  const double w0 = 1 / (1 + std::exp(s)), w1 = 1 - w0;
  expect_close(out, {1, 2, w0 * 1 + w1 * 3, w0 * 2 + w1 * 4}, 1e-7, 1e-6);
  // Non-causal: token 0 now sees token 1 too: scores 1*s and 1*s -> equal weights.
  cpu::attention(q.data(), 2, k.data(), v.data(), 2, 2, 2, 1, 1, 2, false, 0, out.data());
  EXPECT_NEAR(out[0], 2.0, 1e-6);
  EXPECT_NEAR(out[1], 3.0, 1e-6);
}

TEST(Attention, GroupedQueryHeadsShareKvHeads) {
  // 4 query heads, 2 kv heads: heads 0,1 read kv head 0; heads 2,3 read kv head 1. With one key,
  // the output of each head is exactly its kv head's value.
  const int hd = 3;
  std::vector<float> q = random_vec(4 * hd, 11), k = random_vec(2 * hd, 12), v = {1, 2, 3, 7, 8, 9},
                     out(4 * hd);
  cpu::attention(q.data(), 4 * hd, k.data(), v.data(), 2 * hd, 1, 1, 4, 2, hd, true, 0, out.data());
  expect_close(out, {1, 2, 3, 1, 2, 3, 7, 8, 9, 7, 8, 9}, 1e-7, 1e-6);
}

TEST(Attention, DecodeAtAnOffsetSeesTheWholeCache) {
  // A query at position 2 with 3 cached keys attends to all 3; at q_pos0 = 0 only to key 0.
  std::vector<float> q = {0, 0}, k = {1, 0, 0, 1, 1, 1}, v = {3, 0, 0, 3, 3, 3}, out(2);
  cpu::attention(q.data(), 2, k.data(), v.data(), 2, 1, 3, 1, 1, 2, true, 2, out.data());
  expect_close(out, {2, 2}, 1e-7, 1e-6);  // zero query: uniform weights
  cpu::attention(q.data(), 2, k.data(), v.data(), 2, 1, 3, 1, 1, 2, true, 0, out.data());
  expect_close(out, {3, 0.5}, 0.5 + 1e-7, 0);  // out[1] == 0 exactly; atol covers the zero
  EXPECT_EQ(out[1], 0.0f);
}

TEST(Activations, SiluMulAndExactGelu) {
  std::vector<float> g = {-2, 0, 1, 3}, up = {1, 5, 2, -1};
  cpu::silu_mul(g.data(), up.data(), 4);
  auto silu = [](double x) { return x / (1 + std::exp(-x)); };
  expect_close(g, {silu(-2), 0, 2 * silu(1), -silu(3)}, 1e-7, 1e-6);
  // Exact (erf) GELU, not the tanh approximation: gelu(1) = 0.841344746..., tanh form 0.841192.
  std::vector<float> x = {-3, -1, 0.5f, 1, 2};
  cpu::gelu_erf(x.data(), 5);
  auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  expect_close(x, {gelu(-3), gelu(-1), gelu(0.5), gelu(1), gelu(2)}, 1e-7, 1e-6);
  EXPECT_NEAR(x[3], 0.8413447, 1e-6);
}

TEST(Parallel, CoversTheRangeExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    cpu::set_num_threads(threads);
    for (std::int64_t n : {1, 2, 7, 1000}) {
      std::vector<int> hits(static_cast<std::size_t>(n), 0);
      cpu::parallel_for(n, 1 << 30, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)] += 1;
      });
      for (int h : hits) EXPECT_EQ(h, 1);
    }
  }
  cpu::set_num_threads(0);
}

}  // namespace
