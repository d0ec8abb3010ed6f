// cuDNN loaded with dlopen (inference/src/cuda/cudnn_library.h). Needs the CUDA build, not a GPU:
// cudnnGetVersion runs without a device, and a missing library or symbol must not be an error.
#include "cuda/cudnn_library.h"

#include <gtest/gtest.h>

#include <string>

#include "cuda/cuda_setup.h"

namespace fi = framescribe::inference;
namespace fc = framescribe::inference::cuda;

TEST(CudnnLibrary, MissingLibraryIsUnavailableWithTheLoaderMessage) {
  const fc::CudnnLibrary lib =
      fc::CudnnLibrary::load({"libcudnn_framescribe_missing.so.9", "libcudnn_missing_too.so"});
  EXPECT_FALSE(lib.available());
  // dlerror's words for both names, in order.
  EXPECT_NE(lib.why_unavailable().find("libcudnn_framescribe_missing.so.9"), std::string::npos)
      << lib.why_unavailable();
  EXPECT_NE(lib.why_unavailable().find("libcudnn_missing_too.so"), std::string::npos);
  EXPECT_EQ(lib.api().GetVersion, nullptr);
  const fi::CudnnVersions v = lib.versions();
  EXPECT_FALSE(v.available);
  EXPECT_EQ(v.why_unavailable, lib.why_unavailable());
  EXPECT_EQ(v.headers, fi::CudnnVersion::from_code(CUDNN_VERSION));
}

TEST(CudnnLibrary, LibraryWithoutCudnnSymbolsIsUnavailable) {
  // libm loads but has no cudnnGetVersion: an old or foreign library under the name.
  const fc::CudnnLibrary lib = fc::CudnnLibrary::load({"libm.so.6"});
  EXPECT_FALSE(lib.available());
  EXPECT_NE(lib.why_unavailable().find("cudnnGetVersion"), std::string::npos)
      << lib.why_unavailable();
  EXPECT_EQ(lib.api().GetVersion, nullptr);
}

TEST(CudnnLibrary, TheInstalledLibraryReportsItsVersionWithoutAGpu) {
  const fc::CudnnLibrary& lib = fc::CudnnLibrary::instance();
  if (!lib.available()) GTEST_SKIP() << "no cuDNN here: " << lib.why_unavailable();
  const fi::CudnnVersions v = lib.versions();
  EXPECT_TRUE(v.available);
  EXPECT_GE(v.library.major, 8);
  EXPECT_LE(v.effective(), v.headers);
  for (auto* fn : {reinterpret_cast<void*>(lib.api().Create),
                   reinterpret_cast<void*>(lib.api().BackendExecute),
                   reinterpret_cast<void*>(lib.api().GetLastErrorString)}) {
    EXPECT_NE(fn, nullptr);
  }
  EXPECT_STRNE(lib.api().GetErrorString(CUDNN_STATUS_SUCCESS), "");
}

TEST(CudnnLibrary, SetupReportNeverThrowsAndPlansWhatThisBuildHas) {
  const fi::CudaSetupReport r =
      fc::setup_report(fi::pixtral_12b_config(), fi::AttentionChoice::kAuto);
  EXPECT_TRUE(r.backend_built);
  EXPECT_TRUE(r.plan_error.empty());
  EXPECT_NE(fc::versions_line(r).find("headers " + r.cudnn.headers.str()), std::string::npos);
  // No path runs the single-operation descriptor (not built): graph or own.
  EXPECT_NE(r.plan.text_prefill.runs, fi::AttentionKernel::kCudnnOp);
  EXPECT_NE(r.plan.decode.runs, fi::AttentionKernel::kCudnnOp);
  EXPECT_NE(r.plan.vision.runs, fi::AttentionKernel::kCudnnOp);
  if (r.cc_major == 0) {
    // No GPU (CI): every path runs the own kernels, and --attention cudnn is a load error.
    EXPECT_EQ(r.plan.text_prefill.runs, fi::AttentionKernel::kOwn);
    EXPECT_EQ(r.plan.decode.runs, fi::AttentionKernel::kOwn);
    EXPECT_EQ(r.plan.vision.runs, fi::AttentionKernel::kOwn);
    EXPECT_NE(r.plan.text_prefill.reason.find("no CUDA device"), std::string::npos);
    const fi::CudaSetupReport c =
        fc::setup_report(fi::pixtral_12b_config(), fi::AttentionChoice::kCudnn);
    EXPECT_NE(c.plan_error.find("--attention cudnn"), std::string::npos) << c.plan_error;
  } else if (r.cudnn.available && r.cudnn.effective() >= fi::CudnnVersion{9, 8, 0} &&
             r.cc_major >= 8) {
    // A GPU with a cuDNN from 9.8 on (not 9.10.0/1): the text paths are planned on the graph.
    if (r.cudnn.library != fi::CudnnVersion{9, 10, 0} &&
        r.cudnn.library != fi::CudnnVersion{9, 10, 1}) {
      EXPECT_EQ(r.plan.text_prefill.runs, fi::AttentionKernel::kCudnnGraph)
          << r.plan.text_prefill.reason;
      EXPECT_EQ(r.plan.decode.runs, fi::AttentionKernel::kCudnnGraph) << r.plan.decode.reason;
      EXPECT_EQ(r.plan.vision.runs, fi::AttentionKernel::kCudnnGraph) << r.plan.vision.reason;
    }
  }
}
