// The engine's cuDNN text attention where cuDNN cannot build a plan (cudnn_text_attention.h):
// without a GPU, cudnnCreate fails, which is the same branch as a NOT_SUPPORTED graph on a GPU.
// Under --attention auto every planned path falls back to the own kernels with cuDNN's own
// words in the reason; under --attention cudnn the load fails naming the path. Label unit;
// skipped where a GPU is present (there the plans would build and self-test, tests/gpu does
// that).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "cuda/cudnn_text_attention.h"
#include "framescribe/core/error.h"

namespace fi = framescribe::inference;
namespace fc = framescribe::inference::cuda;

namespace {

bool have_gpu() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) (void)cudaGetLastError();
  return status == cudaSuccess && count > 0;
}

fi::AttentionPlan planned_on_cudnn() {
  fi::AttentionPlan p;
  for (fi::PathDecision* d : {&p.text_prefill, &p.decode}) {
    d->planned = d->runs = fi::AttentionKernel::kCudnnGraph;
    d->reason = "multi-operation graph";
  }
  p.vision.reason = "own";
  return p;
}

fc::CudnnTextAttention::Setup real_heads(fi::AttentionChoice choice) {
  fc::CudnnTextAttention::Setup s;
  s.n_head = 32;
  s.n_head_kv = 8;
  s.head_dim = 128;
  s.chunk_tokens = 2048;
  s.max_context = 8192;
  s.choice = choice;
  return s;
}

}  // namespace

TEST(CudnnTextAttention, AutoFallsBackPerPathWithCudnnsMessage) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is present: plans would build";
  if (!fc::CudnnLibrary::instance().available()) GTEST_SKIP() << "no cuDNN here";
  fi::AttentionPlan plan = planned_on_cudnn();
  fc::CudnnTextAttention t(real_heads(fi::AttentionChoice::kAuto), plan, nullptr, nullptr, nullptr,
                           {});
  EXPECT_FALSE(t.any());
  for (const fi::PathDecision* d : {&plan.text_prefill, &plan.decode}) {
    EXPECT_EQ(d->runs, fi::AttentionKernel::kOwn);
    EXPECT_EQ(d->planned, fi::AttentionKernel::kCudnnGraph);
    EXPECT_NE(d->reason.find("cuDNN plan failed at load, own kernels run"), std::string::npos)
        << d->reason;
    EXPECT_NE(d->reason.find("cudnnCreate"), std::string::npos) << d->reason;
    EXPECT_EQ(d->reason.find('\n'), std::string::npos) << d->reason;
  }
  EXPECT_EQ(plan.vision.reason, "own");  // untouched
  std::cout << plan.summary();
}

TEST(CudnnTextAttention, CudnnChoiceIsALoadErrorNamingThePath) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is present: plans would build";
  if (!fc::CudnnLibrary::instance().available()) GTEST_SKIP() << "no cuDNN here";
  fi::AttentionPlan plan = planned_on_cudnn();
  try {
    fc::CudnnTextAttention t(real_heads(fi::AttentionChoice::kCudnn), plan, nullptr, nullptr,
                             nullptr, {});
    FAIL() << "--attention cudnn fell back silently";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported);
    const std::string m = e.what();
    EXPECT_NE(m.find("--attention cudnn"), std::string::npos) << m;
    EXPECT_NE(m.find("text prefill attention"), std::string::npos) << m;
    EXPECT_NE(m.find("cudnnCreate"), std::string::npos) << m;
  }
}

TEST(CudnnTextAttention, NothingPlannedBuildsNothing) {
  fi::AttentionPlan plan;  // every path own
  fc::CudnnTextAttention t(real_heads(fi::AttentionChoice::kAuto), plan, nullptr, nullptr, nullptr,
                           {});
  EXPECT_FALSE(t.any());
  EXPECT_EQ(plan.text_prefill.runs, fi::AttentionKernel::kOwn);
}
