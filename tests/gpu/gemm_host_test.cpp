// The GEMM's error text (inference/src/cuda/gemm.h), which needs no GPU: every cuBLASLt failure
// names the shape, so a first device run that fails says which GEMM. Label unit.
#include <gtest/gtest.h>

#include <string>

#include "cuda/gemm.h"

namespace fc = framescribe::inference::cuda;

TEST(GemmShapeText, NamesDimensionsStridesTypesTransposesAndAlignment) {
  // The qkv GEMM of a 7-token chunk at real size, 16-byte aligned input.
  const std::string s =
      fc::gemm_shape_text(7, 6144, 5120, 5120, 6144, fc::GemmOut::kF32, 0.0f, 16, 256, 256);
  for (const char* part : {"M=7", "N=6144", "K=5120", "-> f32", "A=w op T", "B=x op N", "ldx 5120",
                           "ldy 6144", "beta 0", "16/256/256 bytes"}) {
    EXPECT_NE(s.find(part), std::string::npos) << part << " missing in: " << s;
  }
  EXPECT_EQ(s.find("] +="), std::string::npos) << s;
  // The residual add (beta 1) into bf16: both visible.
  const std::string r = fc::gemm_shape_text(3, 5, 9, 16, 8, fc::GemmOut::kBf16, 1.0f, 2, 4, 2);
  EXPECT_NE(r.find("] += x"), std::string::npos) << r;
  EXPECT_NE(r.find("-> bf16"), std::string::npos) << r;
  EXPECT_NE(r.find("2/4/2 bytes"), std::string::npos) << r;
}
