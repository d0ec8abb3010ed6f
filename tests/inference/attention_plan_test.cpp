// plan_attention over a table of cuDNN versions and --attention choices. The expected kernels are
// written from docs/device.md's "cuDNN attention features by version" (shared folder), not from
// the code: fused SDPA 8.9.0, strides/masks 8.9.3, GQA 8.9.7, bottom-right causal 9.6, fast
// decode 9.8, avoid 9.10.0/9.10.1, single-op descriptor with masks 9.14, causal bands 9.21.
#include "framescribe/inference/attention_plan.h"

#include <gtest/gtest.h>

#include <string>

#include "framescribe/core/error.h"

namespace fi = framescribe::inference;
using fi::AttentionChoice;
using fi::AttentionKernel;
using fi::CudnnVersion;

namespace {

constexpr AttentionKernel kOwn = AttentionKernel::kOwn;
constexpr AttentionKernel kOp = AttentionKernel::kCudnnOp;
constexpr AttentionKernel kGraph = AttentionKernel::kCudnnGraph;

// Pixtral-12B on an H200: text head_dim 128, GQA 32/8, vision head_dim 64.
fi::AttentionPlanInput h200(CudnnVersion library, AttentionChoice choice, bool built,
                            CudnnVersion headers = {9, 19, 0}) {
  fi::AttentionPlanInput in;
  in.choice = choice;
  in.cudnn.available = true;
  in.cudnn.library = library;
  in.cudnn.headers = headers;
  in.cc_major = 9;
  in.cc_minor = 0;
  in.text_head_dim = 128;
  in.text_gqa_ratio = 4;
  in.vision_head_dim = 64;
  in.cudnn_path_built = built;
  return in;
}

fi::AttentionPlanInput unavailable(AttentionChoice choice) {
  fi::AttentionPlanInput in = h200({}, choice, true);
  in.cudnn.available = false;
  in.cudnn.why_unavailable = "libcudnn.so.9: cannot open shared object file";
  return in;
}

struct Row {
  CudnnVersion library;
  AttentionKernel text, vision, decode;  // under auto, with the cuDNN path built
};

const Row kTable[] = {
    {{8, 9, 7}, kOwn, kGraph, kOwn},      // no bottom-right causal; decode slow before 9.8
    {{9, 8, 0}, kGraph, kGraph, kGraph},  // masks in the op descriptor only from 9.14
    {{9, 10, 0}, kOwn, kOwn, kOwn},       // known SDPA bugs
    {{9, 10, 1}, kOwn, kOwn, kOwn},
    {{9, 14, 0}, kGraph, kOp, kOp},  // causal text needs the graph before 9.21
    {{9, 19, 0}, kGraph, kOp, kOp},
};

std::string cudnn_error(const fi::AttentionPlanInput& in) {
  try {
    (void)fi::plan_attention(in);
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AttentionPlan, AutoFollowsTheVersionTableWhenTheCudnnPathIsBuilt) {
  for (const Row& r : kTable) {
    SCOPED_TRACE(r.library.str());
    const fi::AttentionPlan p = fi::plan_attention(h200(r.library, AttentionChoice::kAuto, true));
    EXPECT_EQ(p.text_prefill.runs, r.text) << p.text_prefill.reason;
    EXPECT_EQ(p.vision.runs, r.vision) << p.vision.reason;
    EXPECT_EQ(p.decode.runs, r.decode) << p.decode.reason;
    EXPECT_EQ(p.text_prefill.planned, r.text);
    for (const fi::PathDecision* d : {&p.text_prefill, &p.vision, &p.decode}) {
      EXPECT_FALSE(d->reason.empty());
      EXPECT_EQ(d->reason.find('\n'), std::string::npos) << "one line: " << d->reason;
    }
  }
}

TEST(AttentionPlan, NotBuiltYetRunsOwnKernelsAndSaysSo) {
  // This build: the cuDNN graphs are not written. A path planned for cuDNN must still run the
  // own kernels, and the reason must say so.
  for (const Row& r : kTable) {
    SCOPED_TRACE(r.library.str());
    const fi::AttentionPlan p = fi::plan_attention(h200(r.library, AttentionChoice::kAuto, false));
    EXPECT_EQ(p.text_prefill.planned, r.text);
    EXPECT_EQ(p.vision.planned, r.vision);
    EXPECT_EQ(p.decode.planned, r.decode);
    for (const fi::PathDecision* d : {&p.text_prefill, &p.vision, &p.decode}) {
      EXPECT_EQ(d->runs, kOwn);
      if (d->planned != kOwn) {
        EXPECT_NE(d->reason.find("not built yet: own kernels run"), std::string::npos) << d->reason;
      }
    }
  }
}

TEST(AttentionPlan, BadLibraryVersionsAreRefusedWithTheReason) {
  for (CudnnVersion bad : {CudnnVersion{9, 10, 0}, CudnnVersion{9, 10, 1}}) {
    const fi::AttentionPlan p = fi::plan_attention(h200(bad, AttentionChoice::kAuto, true));
    EXPECT_NE(p.vision.reason.find("known SDPA bugs"), std::string::npos) << p.vision.reason;
    const std::string e = cudnn_error(h200(bad, AttentionChoice::kCudnn, true));
    EXPECT_NE(e.find("known SDPA bugs"), std::string::npos) << e;
  }
  // 9.10.2 is not on the list.
  EXPECT_EQ(fi::plan_attention(h200({9, 10, 2}, AttentionChoice::kAuto, true)).vision.runs, kGraph);
}

TEST(AttentionPlan, FeaturesFollowTheOlderOfLibraryAndHeaders) {
  // The GPU machine: library 9.14 under 9.19 headers -> 9.14's features.
  fi::AttentionPlan p =
      fi::plan_attention(h200({9, 14, 0}, AttentionChoice::kAuto, true, {9, 19, 0}));
  EXPECT_EQ(p.vision.runs, kOp);
  // A new library under old headers: the descriptors were written for the headers.
  p = fi::plan_attention(h200({9, 19, 0}, AttentionChoice::kAuto, true, {9, 8, 0}));
  EXPECT_EQ(p.vision.runs, kGraph);
  EXPECT_EQ(p.text_prefill.runs, kGraph);
  // Headers 9.10.1 with library 9.19: the bugs are the library's, so 9.10.1's features apply.
  p = fi::plan_attention(h200({9, 19, 0}, AttentionChoice::kAuto, true, {9, 10, 1}));
  EXPECT_EQ(p.text_prefill.runs, kGraph);
  EXPECT_EQ(fi::plan_attention(h200({8, 9, 7}, AttentionChoice::kAuto, true, {9, 19, 0}))
                    .text_prefill.reason.find("9.6.0") != std::string::npos,
            true);
}

TEST(AttentionPlan, UnavailableCudnnFallsBackUnderAutoAndFailsUnderCudnn) {
  const fi::AttentionPlan p = fi::plan_attention(unavailable(AttentionChoice::kAuto));
  for (const fi::PathDecision* d : {&p.text_prefill, &p.vision, &p.decode}) {
    EXPECT_EQ(d->runs, kOwn);
    EXPECT_EQ(d->planned, kOwn);
    EXPECT_NE(d->reason.find("cuDNN unavailable: libcudnn.so.9: cannot open"), std::string::npos)
        << d->reason;
  }
  const std::string e = cudnn_error(unavailable(AttentionChoice::kCudnn));
  EXPECT_NE(e.find("--attention cudnn"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot open shared object file"), std::string::npos) << e;
}

TEST(AttentionPlan, CudnnChoiceFailsWhereAPathCannotUseIt) {
  // 8.9.7: vision could, text prefill cannot (bottom-right causal needs 9.6).
  std::string e = cudnn_error(h200({8, 9, 7}, AttentionChoice::kCudnn, true));
  EXPECT_NE(e.find("text prefill"), std::string::npos) << e;
  // 9.14, every path possible, but the cuDNN path is not built in this build.
  e = cudnn_error(h200({9, 14, 0}, AttentionChoice::kCudnn, false));
  EXPECT_NE(e.find("not built yet"), std::string::npos) << e;
  // Built: cudnn everywhere, decode included (no timing against own under an explicit choice).
  const fi::AttentionPlan p = fi::plan_attention(h200({9, 14, 0}, AttentionChoice::kCudnn, true));
  EXPECT_EQ(p.text_prefill.runs, kGraph);
  EXPECT_EQ(p.vision.runs, kOp);
  EXPECT_EQ(p.decode.runs, kOp);
  // Before 9.8 decode is own under auto but cuDNN when asked for.
  EXPECT_EQ(fi::plan_attention(h200({9, 6, 0}, AttentionChoice::kCudnn, true)).decode.runs, kGraph);
}

TEST(AttentionPlan, OwnChoiceIgnoresCudnn) {
  for (const fi::AttentionPlanInput& in :
       {h200({9, 19, 0}, AttentionChoice::kOwn, true), unavailable(AttentionChoice::kOwn)}) {
    const fi::AttentionPlan p = fi::plan_attention(in);
    for (const fi::PathDecision* d : {&p.text_prefill, &p.vision, &p.decode}) {
      EXPECT_EQ(d->runs, kOwn);
      EXPECT_EQ(d->planned, kOwn);
      EXPECT_EQ(d->reason, "--attention own");
    }
  }
}

TEST(AttentionPlan, DecodeNeverUsesACausalMask) {
  // cuDNN 9.18.1 release notes: one-query decode with GQA and a causal mask is wrong.
  const fi::AttentionPlan p = fi::plan_attention(h200({9, 19, 0}, AttentionChoice::kAuto, true));
  EXPECT_NE(p.decode.reason.find("no causal mask"), std::string::npos) << p.decode.reason;
}

TEST(AttentionPlan, DeviceHeadDimAndPagedGates) {
  fi::AttentionPlanInput in = h200({9, 19, 0}, AttentionChoice::kAuto, true);
  in.cc_major = 7;
  in.cc_minor = 5;
  fi::AttentionPlan p = fi::plan_attention(in);
  EXPECT_EQ(p.vision.runs, kOwn);
  EXPECT_NE(p.vision.reason.find("compute capability >= 8.0"), std::string::npos);
  in.cc_major = 0;
  EXPECT_NE(fi::plan_attention(in).text_prefill.reason.find("no CUDA device"), std::string::npos);
  in = h200({9, 19, 0}, AttentionChoice::kAuto, true);
  in.text_head_dim = 256;
  p = fi::plan_attention(in);
  EXPECT_EQ(p.text_prefill.runs, kOwn);
  EXPECT_EQ(p.vision.runs, kOp);  // vision head_dim 64 is still fine
  in = h200({9, 4, 0}, AttentionChoice::kAuto, true);
  in.vision_head_dim = 60;
  EXPECT_EQ(fi::plan_attention(in).vision.runs, kOwn);
  in.paged_kv = true;
  EXPECT_NE(fi::plan_attention(in).text_prefill.reason.find("paged K/V needs 9.5.0"),
            std::string::npos);
  in = h200({9, 4, 0}, AttentionChoice::kCudnn, true);
  in.paged_kv = true;
  EXPECT_NE(cudnn_error(in).find("paged K/V needs 9.5.0"), std::string::npos);
  in = h200({9, 19, 0}, AttentionChoice::kAuto, true);
  in.text_gqa_ratio = 4;
  in.cudnn.library = {8, 9, 5};
  EXPECT_NE(fi::plan_attention(in).decode.reason.find("GQA needs 8.9.7"), std::string::npos);
}

TEST(AttentionPlan, VersionCodesAndChoices) {
  EXPECT_EQ(CudnnVersion::from_code(8907), (CudnnVersion{8, 9, 7}));
  EXPECT_EQ(CudnnVersion::from_code(91400), (CudnnVersion{9, 14, 0}));
  EXPECT_EQ(CudnnVersion::from_code(91001), (CudnnVersion{9, 10, 1}));
  EXPECT_EQ(CudnnVersion::from_code(0), CudnnVersion{});
  EXPECT_LT((CudnnVersion{9, 9, 9}), (CudnnVersion{9, 10, 0}));
  EXPECT_EQ(fi::parse_attention_choice("auto"), AttentionChoice::kAuto);
  EXPECT_EQ(fi::parse_attention_choice("cudnn"), AttentionChoice::kCudnn);
  EXPECT_EQ(fi::parse_attention_choice("own"), AttentionChoice::kOwn);
  EXPECT_THROW(fi::parse_attention_choice("flash"), framescribe::Error);
  for (AttentionChoice c : {AttentionChoice::kAuto, AttentionChoice::kCudnn, AttentionChoice::kOwn})
    EXPECT_EQ(fi::parse_attention_choice(fi::to_string(c)), c);
}

TEST(AttentionPlan, ReportWithoutCudaSaysWhy) {
  // Every build: the report never throws; without the CUDA backend it says so.
  const fi::CudaSetupReport r =
      fi::cuda_setup_report(fi::pixtral_12b_config(), AttentionChoice::kAuto);
  if (!fi::cuda_backend_built()) {
    EXPECT_FALSE(r.backend_built);
    EXPECT_NE(r.cudnn.why_unavailable.find("FRAMESCRIBE_CUDA=OFF"), std::string::npos);
    EXPECT_NE(r.plan.text_prefill.reason.find("FRAMESCRIBE_CUDA=OFF"), std::string::npos);
    EXPECT_EQ(r.plan.decode.runs, AttentionKernel::kOwn);
    EXPECT_NE(fi::cuda_setup_report(fi::pixtral_12b_config(), AttentionChoice::kCudnn)
                  .plan_error.find("--attention cudnn"),
              std::string::npos);
  } else {
    EXPECT_TRUE(r.backend_built);
    EXPECT_GT(r.cudnn.headers.major, 0);
  }
}

TEST(AttentionPlan, WithoutTheOpDescriptorTheGraphServesAndVisionCanBeLeftOut) {
  // The flags narrow what the build has: without the single-operation descriptor the graph
  // serves its paths; without the vision path, vision runs the own kernels.
  for (CudnnVersion lib : {CudnnVersion{9, 14, 0}, CudnnVersion{9, 19, 0}}) {
    SCOPED_TRACE(lib.str());
    fi::AttentionPlanInput in = h200(lib, AttentionChoice::kAuto, true);
    in.cudnn_op_built = false;
    in.cudnn_vision_built = false;
    const fi::AttentionPlan p = fi::plan_attention(in);
    EXPECT_EQ(p.text_prefill.runs, kGraph);
    EXPECT_EQ(p.decode.planned, kOp);
    EXPECT_EQ(p.decode.runs, kGraph) << p.decode.reason;
    EXPECT_NE(p.decode.reason.find("descriptor is not built"), std::string::npos);
    EXPECT_NE(p.decode.reason.find("timed against the own kernel"), std::string::npos);
    EXPECT_EQ(p.vision.planned, kOp);
    EXPECT_EQ(p.vision.runs, kOwn);
    EXPECT_NE(p.vision.reason.find("not built yet for packed images"), std::string::npos)
        << p.vision.reason;
    // --attention cudnn: the text paths on cuDNN, vision on the own kernels, no load error.
    in.choice = AttentionChoice::kCudnn;
    const fi::AttentionPlan c = fi::plan_attention(in);
    EXPECT_EQ(c.text_prefill.runs, kGraph);
    EXPECT_EQ(c.decode.runs, kGraph);
    EXPECT_EQ(c.vision.runs, kOwn);
  }
  // What cuda_setup.cpp declares today: the graph for every path, no op descriptor.
  fi::AttentionPlanInput engine = h200({9, 14, 0}, AttentionChoice::kAuto, true);
  engine.cudnn_op_built = false;
  const fi::AttentionPlan e = fi::plan_attention(engine);
  EXPECT_EQ(e.text_prefill.runs, kGraph);
  EXPECT_EQ(e.vision.runs, kGraph);
  EXPECT_EQ(e.vision.planned, kOp);
  EXPECT_EQ(e.decode.runs, kGraph);
  // Where the gates say own (8.9.7 text prefill), the flags change nothing.
  fi::AttentionPlanInput old = h200({8, 9, 7}, AttentionChoice::kAuto, true);
  old.cudnn_op_built = false;
  EXPECT_EQ(fi::plan_attention(old).text_prefill.runs, kOwn);
}

TEST(AttentionPlan, AFailedLoadTimePlanFallsBackUnderAutoAndFailsUnderCudnn) {
  fi::AttentionPlan p = fi::plan_attention(h200({9, 14, 0}, AttentionChoice::kAuto, true));
  ASSERT_EQ(p.text_prefill.runs, kGraph);
  fi::fall_back_to_own(p.text_prefill, AttentionChoice::kAuto, "text prefill",
                       "CUDNN_STATUS_NOT_SUPPORTED (3000): no engine\nsecond line");
  EXPECT_EQ(p.text_prefill.runs, kOwn);
  EXPECT_EQ(p.text_prefill.planned, kGraph);  // what the gates allowed stays visible
  EXPECT_NE(p.text_prefill.reason.find("failed at load, own kernels run: CUDNN_STATUS_NOT_SUPP"),
            std::string::npos)
      << p.text_prefill.reason;
  EXPECT_EQ(p.text_prefill.reason.find('\n'), std::string::npos) << "one line";
  EXPECT_NE(p.summary().find("text prefill:   own (planned: cudnn (graph))"), std::string::npos)
      << p.summary();

  fi::AttentionPlan c = fi::plan_attention(h200({9, 14, 0}, AttentionChoice::kCudnn, true));
  try {
    fi::fall_back_to_own(c.decode, AttentionChoice::kCudnn, "decode", "self-test: max error 0.5");
    FAIL() << "--attention cudnn fell back silently";
  } catch (const framescribe::Error& e) {
    EXPECT_EQ(e.code(), framescribe::ErrorCode::kUnsupported);
    const std::string m = e.what();
    EXPECT_NE(m.find("--attention cudnn"), std::string::npos) << m;
    EXPECT_NE(m.find("decode attention"), std::string::npos) << m;
    EXPECT_NE(m.find("self-test: max error 0.5"), std::string::npos) << m;
  }
  EXPECT_EQ(c.decode.runs, kOp);  // unchanged: the engine does not load
}
