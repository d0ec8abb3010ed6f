// The three attention launchers against cpu::attention (float32 softmax, double dots) on the
// same bf16-rounded q, k, v.
//
// Tolerance: both sides compute scores and softmax in float32 or better from identical inputs,
// so before output rounding they agree to ~1e-6 relative; the GPU then rounds to bf16 (at most
// 2^-8 relative, see ops_test.cpp). Outputs are convex combinations of v rows and can be small
// where v values cancel, hence atol 2e-4 next to rtol 8e-3 (two bf16 steps: the online softmax
// rescales partial sums, and split-K decode merges up to 128 partials in float32).
#include <gtest/gtest.h>

#include <cstdint>

#include "cpu/ops.h"
#include "framescribe/core/error.h"
#include "gpu/gpu_test_util.h"

namespace framescribe::gpu_test {
namespace {

namespace cpu = framescribe::inference::cpu;
constexpr double kAtol = 2e-4;
constexpr double kRtol = 8e-3;

struct VisionCase {
  std::vector<int> lengths;  // patches per image
  int n_head, head_dim;
};
// Readable, stable test names (the default prints the struct's bytes, padding included).
void PrintTo(const VisionCase& c, std::ostream* os) {
  *os << "patches";
  for (int n : c.lengths) *os << "_" << n;
  *os << "_heads" << c.n_head << "_hd" << c.head_dim;
}

class VisionAttentionTest : public ::testing::TestWithParam<VisionCase> {};

TEST_P(VisionAttentionTest, MatchesCpuPerImage) {
  FS_REQUIRE_GPU();
  const VisionCase c = GetParam();
  double work = 0;
  for (int len : c.lengths) work += double(len) * len * c.n_head * c.head_dim;
  FS_SKIP_IF_LARGE(work);
  const std::int64_t width = std::int64_t{c.n_head} * c.head_dim;
  std::vector<std::int32_t> begin{0};
  int max_len = 0;
  for (int len : c.lengths) {
    begin.push_back(begin.back() + len);
    max_len = std::max(max_len, len);
  }
  const std::int64_t n = begin.back();
  // q scaled up so the softmax is peaky in places (a flat softmax hides indexing errors).
  const std::vector<float> q = rounded_bf16(random_floats(n * width, 71, -3.0f, 3.0f));
  const std::vector<float> k = rounded_bf16(random_floats(n * width, 72));
  const std::vector<float> v = rounded_bf16(random_floats(n * width, 73));
  auto dq = to_device_bf16(q);
  auto dk = to_device_bf16(k);
  auto dv = to_device_bf16(v);
  DeviceArray<std::int32_t> dbegin(begin);
  DeviceArray<fc::bf16> dout(n * width);
  fc::launch_attention_vision(dq.get(), width, dk.get(), dv.get(), width, dout.get(), width,
                              dbegin.get(), static_cast<int>(c.lengths.size()), max_len, c.n_head,
                              c.head_dim, nullptr);
  std::vector<float> ref(n * width);
  for (std::size_t i = 0; i < c.lengths.size(); ++i) {
    const std::int64_t off = begin[i] * width, len = c.lengths[i];
    cpu::attention(q.data() + off, width, k.data() + off, v.data() + off, width, len, len, c.n_head,
                   c.n_head, c.head_dim, /*causal=*/false, 0, ref.data() + off);
  }
  EXPECT_TRUE(all_close(from_device_bf16(dout), ref, kAtol, kRtol, "vision attention"));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, VisionAttentionTest,
    ::testing::Values(VisionCase{{256, 17, 1, 64}, 16, 64},  // real heads, mixed sizes
                      VisionCase{{1024}, 16, 64},            // one 512x512 frame
                      VisionCase{{3, 4096}, 16, 64},         // a 1024x1024 image after a tiny one
                      VisionCase{{12, 10, 30}, 4, 16},       // fixture-like tiny heads
                      VisionCase{{100, 33}, 2, 32}, VisionCase{{65, 7}, 2, 128}));

struct TextCase {
  std::int64_t n_q, pos0;
  int n_head, n_head_kv, head_dim;
};
void PrintTo(const TextCase& c, std::ostream* os) {
  *os << "q" << c.n_q << "_at" << c.pos0 << "_heads" << c.n_head << "/" << c.n_head_kv << "_hd"
      << c.head_dim;
}

double text_work(const TextCase& c) {
  return double(c.n_q) * double(c.pos0 + c.n_q) * c.n_head * c.head_dim;
}

std::vector<float> run_text(const TextCase& c, bool decode, std::vector<float>* ref_out) {
  const std::int64_t qd = std::int64_t{c.n_head} * c.head_dim;
  const std::int64_t kvd = std::int64_t{c.n_head_kv} * c.head_dim;
  const std::int64_t n_kv = c.pos0 + c.n_q;
  const std::vector<float> q = rounded_bf16(random_floats(c.n_q * qd, 81, -3.0f, 3.0f));
  const std::vector<float> k = rounded_bf16(random_floats(n_kv * kvd, 82));
  const std::vector<float> v = rounded_bf16(random_floats(n_kv * kvd, 83));
  auto dq = to_device_bf16(q);
  auto dk = to_device_bf16(k);
  auto dv = to_device_bf16(v);
  DeviceArray<fc::bf16> dout(c.n_q * qd);
  if (decode) {
    const std::int64_t ws_floats =
        fc::attention_decode_workspace_floats(c.n_q, c.n_head, c.head_dim);
    DeviceArray<float> ws(static_cast<std::size_t>(ws_floats));
    fc::launch_attention_decode(dq.get(), qd, dk.get(), dv.get(), kvd, dout.get(), qd, c.n_q,
                                c.pos0, c.n_head, c.n_head_kv, c.head_dim, ws.get(), ws_floats,
                                nullptr);
    FS_CUDA_CHECK(cudaDeviceSynchronize());  // ws must outlive the kernels
  } else {
    fc::launch_attention_prefill(dq.get(), qd, dk.get(), dv.get(), kvd, dout.get(), qd, c.n_q,
                                 c.pos0, c.n_head, c.n_head_kv, c.head_dim, nullptr);
  }
  ref_out->assign(c.n_q * qd, 0.0f);
  cpu::attention(q.data(), qd, k.data(), v.data(), kvd, c.n_q, n_kv, c.n_head, c.n_head_kv,
                 c.head_dim, /*causal=*/true, c.pos0, ref_out->data());
  return from_device_bf16(dout);
}

class PrefillAttentionTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(PrefillAttentionTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  FS_SKIP_IF_LARGE(text_work(GetParam()));
  std::vector<float> ref;
  const std::vector<float> got = run_text(GetParam(), /*decode=*/false, &ref);
  EXPECT_TRUE(all_close(got, ref, kAtol, kRtol, "prefill attention"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, PrefillAttentionTest,
                         ::testing::Values(TextCase{17, 0, 32, 8, 128},  // real GQA 32/8
                                           TextCase{64, 100, 32, 8,
                                                    128},  // a later chunk over cached keys
                                           TextCase{300, 0, 32, 8, 128}, TextCase{1, 0, 32, 8, 128},
                                           TextCase{33, 5, 4, 2, 32},  // fixture-like
                                           TextCase{7, 70, 8, 2, 32}, TextCase{5, 3, 6, 6, 64}));

class DecodeAttentionTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(DecodeAttentionTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  FS_SKIP_IF_LARGE(text_work(GetParam()));
  std::vector<float> ref;
  const std::vector<float> got = run_text(GetParam(), /*decode=*/true, &ref);
  EXPECT_TRUE(all_close(got, ref, kAtol, kRtol, "decode attention"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, DecodeAttentionTest,
                         ::testing::Values(TextCase{1, 0, 32, 8, 128},     // first token: one key
                                           TextCase{1, 4999, 32, 8, 128},  // 5000 keys: many splits
                                           TextCase{1, 40000, 32, 8,
                                                    128},                  // 126 splits of 320 keys
                                           TextCase{3, 1000, 32, 8, 128},  // a few queries at once
                                           TextCase{1, 300, 4, 2, 32},     // fixture-like
                                           TextCase{4, 17, 8, 2, 16}));

TEST(DecodeAttention, AgreesWithPrefillKernel) {
  FS_REQUIRE_GPU();
  // The two launchers compute the same function; split-K only changes the summation order.
  const TextCase c{2, 2500, 32, 8, 128};
  std::vector<float> ref;
  const std::vector<float> a = run_text(c, true, &ref);
  const std::vector<float> b = run_text(c, false, &ref);
  EXPECT_TRUE(all_close(a, b, kAtol, kRtol, "decode vs prefill"));
}

// Flash decoding called directly (launch_attention_decode routes n_q == 1 to it when it can):
// one query at the end of n_kv keys, against cpu::attention, at the lengths the engine's
// decode sees (first token, 1k, a 34k window, 128k with small heads) and with 8 query heads
// per kv head (two per warp).
// device_n_kv: the key count read from device memory, the grid sized for 3x + 100 keys (the
// CUDA-graph decode step's launch).
std::vector<float> run_flash(const TextCase& c, std::vector<float>* ref_out,
                             std::vector<float>* prefill_out = nullptr, bool device_n_kv = false) {
  const std::int64_t qd = std::int64_t{c.n_head} * c.head_dim;
  const std::int64_t kvd = std::int64_t{c.n_head_kv} * c.head_dim;
  const std::int64_t n_kv = c.pos0 + 1;
  const std::vector<float> q = rounded_bf16(random_floats(qd, 91, -3.0f, 3.0f));
  const std::vector<float> k = rounded_bf16(random_floats(n_kv * kvd, 92));
  const std::vector<float> v = rounded_bf16(random_floats(n_kv * kvd, 93));
  auto dq = to_device_bf16(q);
  auto dk = to_device_bf16(k);
  auto dv = to_device_bf16(v);
  DeviceArray<fc::bf16> dout(qd);
  const std::int64_t ws_floats = fc::attention_decode_workspace_floats(4, c.n_head, c.head_dim);
  DeviceArray<float> ws(static_cast<std::size_t>(ws_floats));
  DeviceArray<std::int32_t> dn(std::vector<std::int32_t>{static_cast<std::int32_t>(n_kv)});
  fc::launch_attention_flash_decode(
      dq.get(), dk.get(), dv.get(), kvd, dout.get(), device_n_kv ? 3 * n_kv + 100 : n_kv, c.n_head,
      c.n_head_kv, c.head_dim, ws.get(), ws_floats, nullptr, device_n_kv ? dn.get() : nullptr);
  FS_CUDA_CHECK(cudaDeviceSynchronize());
  if (prefill_out != nullptr) {
    DeviceArray<fc::bf16> dpre(qd);
    fc::launch_attention_prefill(dq.get(), qd, dk.get(), dv.get(), kvd, dpre.get(), qd, 1, c.pos0,
                                 c.n_head, c.n_head_kv, c.head_dim, nullptr);
    *prefill_out = from_device_bf16(dpre);
  }
  ref_out->assign(qd, 0.0f);
  cpu::attention(q.data(), qd, k.data(), v.data(), kvd, 1, n_kv, c.n_head, c.n_head_kv, c.head_dim,
                 /*causal=*/true, c.pos0, ref_out->data());
  return from_device_bf16(dout);
}

class FlashDecodeTest : public ::testing::TestWithParam<TextCase> {};

TEST_P(FlashDecodeTest, MatchesCpu) {
  FS_REQUIRE_GPU();
  FS_SKIP_IF_LARGE(text_work(GetParam()));
  std::vector<float> ref;
  const std::vector<float> got = run_flash(GetParam(), &ref);
  EXPECT_TRUE(all_close(got, ref, kAtol, kRtol, "flash decode"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, FlashDecodeTest,
                         ::testing::Values(TextCase{1, 0, 32, 8, 128},      // one key
                                           TextCase{1, 31, 32, 8, 128},     // exactly one tile
                                           TextCase{1, 1023, 32, 8, 128},   // 1k context
                                           TextCase{1, 33834, 32, 8, 128},  // the video window
                                           TextCase{1, 131071, 4, 2, 32},   // 128k keys
                                           TextCase{1, 777, 16, 2, 64},     // group 8
                                           TextCase{1, 100, 6, 6, 64}));    // no GQA

TEST(FlashDecode, AgreesWithThePrefillKernelOnTheSameData) {
  FS_REQUIRE_GPU();
  // The same function as the own prefill kernel (which the cuDNN self-test also uses as the
  // reference); only the summation order differs.
  std::vector<float> ref, prefill;
  const std::vector<float> flash = run_flash(TextCase{1, 2500, 32, 8, 128}, &ref, &prefill);
  EXPECT_TRUE(all_close(flash, prefill, kAtol, kRtol, "flash vs prefill kernel"));
}

TEST(FlashDecode, KeyCountFromDeviceMemory) {
  FS_REQUIRE_GPU();
  // The graph-replayed decode step: the grid sized for more keys than exist, later splits
  // empty; the same result as the host-count launch.
  for (const TextCase& c :
       {TextCase{1, 0, 32, 8, 128}, TextCase{1, 1023, 32, 8, 128}, TextCase{1, 300, 4, 2, 32}}) {
    std::vector<float> ref;
    const std::vector<float> got = run_flash(c, &ref, nullptr, /*device_n_kv=*/true);
    EXPECT_TRUE(all_close(got, ref, kAtol, kRtol, "flash decode, device key count"));
  }
}

TEST(FlashDecodeArgs, RefusedBeforeAnyKernel) {
  auto* q = reinterpret_cast<fc::bf16*>(std::uintptr_t{0x10000});
  auto* kv = reinterpret_cast<fc::bf16*>(std::uintptr_t{0x20000});
  auto* ws = reinterpret_cast<float*>(std::uintptr_t{0x30000});
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;  // "accepted": never expected below
  };
  EXPECT_EQ(code_of([&] {
              fc::launch_attention_flash_decode(q, kv, kv, 1024, q, 100, 32, 8, 16, ws, 1 << 20,
                                                nullptr);
            }),
            ErrorCode::kUnsupported);  // head_dim 16
  EXPECT_EQ(code_of([&] {
              fc::launch_attention_flash_decode(q, kv, kv, 1024, q, 100, 32, 2, 128, ws, 1 << 20,
                                                nullptr);
            }),
            ErrorCode::kUnsupported);  // 16 query heads per kv head
  EXPECT_EQ(code_of([&] {
              fc::launch_attention_flash_decode(q, kv + 4, kv, 1024, q, 100, 32, 8, 128, ws,
                                                1 << 20, nullptr);
            }),
            ErrorCode::kInvalidArgument);  // K not 16-byte aligned
  EXPECT_EQ(code_of([&] {
              fc::launch_attention_flash_decode(q, kv, kv, 1028, q, 100, 32, 8, 128, ws, 1 << 20,
                                                nullptr);
            }),
            ErrorCode::kInvalidArgument);  // rows not 16-byte aligned
}

// The launchers' argument checks run on the host before any CUDA call, so they are tested
// everywhere (this test needs no GPU): a workspace too small for the queries, an odd K/V stride
// (4-byte pair loads would fault) and impossible head counts are refused with kInvalidArgument.
TEST(AttentionArgs, BadLaunchesAreRefusedBeforeAnyKernel) {
  auto* q = reinterpret_cast<fc::bf16*>(std::uintptr_t{0x10000});
  auto* kv = reinterpret_cast<fc::bf16*>(std::uintptr_t{0x20000});
  auto* ws = reinterpret_cast<float*>(std::uintptr_t{0x30000});
  const std::int64_t need = fc::attention_decode_workspace_floats(2, 32, 128);
  auto decode = [&](std::int64_t kv_stride, const fc::bf16* k, std::int64_t ws_floats, int heads) {
    fc::launch_attention_decode(q, 4096, k, kv, kv_stride, q, 4096, 2, 100, heads, 8, 128, ws,
                                ws_floats, nullptr);
  };
  auto expect_invalid = [](auto&& f, const char* what) {
    try {
      f();
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << what << ": " << e.what();
    }
  };
  expect_invalid([&] { decode(1024, kv, need - 1, 32); }, "small workspace");
  expect_invalid([&] { decode(1023, kv, need, 32); }, "odd stride");
  expect_invalid([&] { decode(1024, kv + 1, need, 32); }, "misaligned K");
  expect_invalid([&] { decode(1024, kv, need, 30); }, "30 heads over 8 kv heads");
}

}  // namespace
}  // namespace framescribe::gpu_test
