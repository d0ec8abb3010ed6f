// cuDNN fused attention (inference/src/cuda/cudnn_attention.h), the parts that need no GPU:
// the shapes the engine builds, the argument checks, and every tensor and operation descriptor
// of the flash-attention graph finalized by the installed cuDNN (descriptors are host objects;
// only the operation graph and the plan need a device). Label unit: runs in CI's cuda-engine
// stage. Planning and running are tests/gpu/attention_test.cpp (label gpu).
#include "cuda/cudnn_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "framescribe/core/error.h"

namespace fi = framescribe::inference;
namespace fc = framescribe::inference::cuda;

namespace {

std::string error_of(const fc::SdpaShape& s) {
  try {
    fc::check_shape(s);
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CudnnAttentionShape, TextPrefillViewsTheChunkAndOneCacheLayer) {
  const fc::SdpaShape s = fc::text_prefill_shape(32, 8, 128, 2048, 131072);
  EXPECT_EQ(s.batch, 1);
  EXPECT_EQ(s.s_q, 2048);
  EXPECT_EQ(s.s_kv, 131072);
  EXPECT_EQ(s.q_row, 32 * 128);  // text_.q rows
  EXPECT_EQ(s.o_row, 32 * 128);  // attention output rows (text_.h)
  EXPECT_EQ(s.kv_row, 8 * 128);  // one layer of the K/V cache
  EXPECT_EQ(s.kv_batch, 131072LL * 8 * 128);
  EXPECT_TRUE(s.causal_bottom_right);
  EXPECT_FLOAT_EQ(s.scale, 1.0f / std::sqrt(128.0f));
  EXPECT_EQ(s.str(), "b1 h32/8 sq2048 skv131072 d128 causal");
  EXPECT_EQ(error_of(s), "");
}

TEST(CudnnAttentionShape, DecodeIsOneQueryWithoutACausalMask) {
  // cuDNN 9.18.1: one query with GQA and a causal mask gives wrong results; lengths only.
  const fc::SdpaShape s = fc::decode_shape(32, 8, 128, 4096);
  EXPECT_EQ(s.s_q, 1);
  EXPECT_EQ(s.s_kv, 4096);
  EXPECT_FALSE(s.causal_bottom_right);
  EXPECT_EQ(s.str(), "b1 h32/8 sq1 skv4096 d128 padding");
}

TEST(CudnnAttentionShape, VisionIsAPaddedBatchOfEqualImages) {
  // 16 frames of 512x512 (1024 patches each) with Pixtral's vision heads (16 x 64).
  const fc::SdpaShape s = fc::vision_shape(16, 64, 16, 1024);
  EXPECT_EQ(s.batch, 16);
  EXPECT_EQ(s.n_head_kv, 16);
  EXPECT_EQ(s.s_q, 1024);
  EXPECT_EQ(s.s_kv, 1024);
  EXPECT_EQ(s.q_row, 1024);             // vision_.q rows: 16 heads x 64
  EXPECT_EQ(s.q_batch, 1024LL * 1024);  // image i starts at row i * 1024: packed == padded
  EXPECT_EQ(s.kv_batch, s.q_batch);
  EXPECT_FALSE(s.causal_bottom_right);
  EXPECT_EQ(error_of(s), "");
}

TEST(CudnnAttentionShape, ChecksNameTheBadField) {
  fc::SdpaShape s = fc::text_prefill_shape(32, 8, 128, 64, 256);
  s.n_head_kv = 5;
  EXPECT_NE(error_of(s).find("heads"), std::string::npos) << error_of(s);
  s = fc::text_prefill_shape(32, 8, 136, 64, 256);
  EXPECT_NE(error_of(s).find("head_dim 136"), std::string::npos) << error_of(s);
  s = fc::text_prefill_shape(4, 2, 16, 64, 256);
  s.kv_row = 36;  // not 16-byte aligned rows
  EXPECT_NE(error_of(s).find("row strides"), std::string::npos) << error_of(s);
  s = fc::text_prefill_shape(4, 2, 16, 64, 256);
  s.q_row = 32;  // narrower than 4 heads x 16
  EXPECT_NE(error_of(s).find("row strides"), std::string::npos) << error_of(s);
  s = fc::text_prefill_shape(4, 2, 16, 0, 256);
  EXPECT_NE(error_of(s).find("bad lengths"), std::string::npos) << error_of(s);
}

TEST(CudnnAttentionGraph, EveryDescriptorFinalizesWithTheInstalledCudnn) {
  const fc::CudnnLibrary& lib = fc::CudnnLibrary::instance();
  if (!lib.available()) GTEST_SKIP() << "no cuDNN here: " << lib.why_unavailable();
  const fi::CudnnVersion v = lib.versions().library;
  // Real Pixtral-12B text heads; chunk 2048 against a 128k cache.
  const fc::SdpaGraph prefill(lib.api(), fc::text_prefill_shape(32, 8, 128, 2048, 131072), v);
  // 2 matmuls, scale, padding (2 indices, 2 compares, and, select), causal (2 indices, add,
  // sub, compare, select), softmax (max, sub, exp, sum, log, add, div).
  EXPECT_EQ(prefill.n_operations(), 22u);
  EXPECT_FALSE(prefill.planned());
  const fc::SdpaGraph decode(lib.api(), fc::decode_shape(32, 8, 128, 131072), v);
  EXPECT_EQ(decode.n_operations(), 16u);  // no causal mask
  // 8 real tensors plus one virtual output per operation but the last matmul (O is real).
  EXPECT_EQ(decode.n_tensors(), 8u + 15u);
  // Fixture-sized heads build too (the gpu tests run them against the CPU reference).
  const fc::SdpaGraph tiny(lib.api(), fc::text_prefill_shape(4, 2, 16, 64, 256), v);
  EXPECT_EQ(tiny.n_operations(), 22u);
  // The vision plan: 16 frames of 1024 patches, padding (lengths) only.
  const fc::SdpaGraph vision(lib.api(), fc::vision_shape(16, 64, 16, 1024), v);
  EXPECT_EQ(vision.n_operations(), 16u);
}

TEST(CudnnAttentionGraph, BadShapesAreRefusedBeforeCudnnIsCalled) {
  fc::CudnnApi none;  // every pointer null: check_shape must throw first
  fc::SdpaShape s = fc::text_prefill_shape(32, 8, 128, 64, 256);
  s.head_dim = 12;
  try {
    fc::SdpaGraph g(none, s, fi::CudnnVersion{9, 14, 0});
    FAIL() << "built a graph for head_dim 12";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kInvalidArgument);
  }
  // A library that is not loaded is refused with kUnsupported (the engine's fallback case).
  try {
    fc::SdpaGraph g(none, fc::decode_shape(32, 8, 128, 256), fi::CudnnVersion{9, 14, 0});
    FAIL() << "built a graph without cuDNN";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported);
  }
}
