#include "cuda/cuda_setup.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <sstream>

#include "cuda/cudnn_library.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

AttentionPlanInput attention_plan_input(const ModelConfig& config, AttentionChoice choice,
                                        int cc_major, int cc_minor) {
  AttentionPlanInput in;
  in.choice = choice;
  in.cudnn = CudnnLibrary::instance().versions();
  in.cc_major = cc_major;
  in.cc_minor = cc_minor;
  in.text_head_dim = config.text.head_dim;
  in.text_gqa_ratio = config.text.n_head_kv > 0 ? config.text.n_head / config.text.n_head_kv : 1;
  in.vision_head_dim = config.vision.head_dim;
  in.paged_kv = false;  // one contiguous [max_context, kvd] block per layer
  // cudnn_attention.h: the multi-operation graph for text prefill, decode and vision (groups of
  // equal frames; other groups run the own kernel); not the single-operation descriptor.
  in.cudnn_path_built = true;
  in.cudnn_op_built = false;
  in.cudnn_vision_built = true;
  return in;
}

CudaSetupReport setup_report(const ModelConfig& config, AttentionChoice choice) {
  CudaSetupReport r;
  r.backend_built = true;
  const CudnnLibrary& lib = CudnnLibrary::instance();
  r.cudnn = lib.versions();
  r.cudnn_path = lib.path();
  r.cublaslt_version = static_cast<int>(cublasLtGetVersion());
  if (cudaDriverGetVersion(&r.driver_version) != cudaSuccess) r.driver_version = 0;
  if (cudaRuntimeGetVersion(&r.runtime_version) != cudaSuccess) r.runtime_version = 0;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    r.no_device_why =
        status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount reports 0";
  } else {
    // The current device (the one an engine loads on; 0 unless the caller chose another).
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) device = 0;
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
      r.device = prop.name;
      r.cc_major = prop.major;
      r.cc_minor = prop.minor;
    } else {
      r.no_device_why = cudaGetErrorString(cudaGetLastError());
    }
  }
  try {
    r.plan = plan_attention(attention_plan_input(config, choice, r.cc_major, r.cc_minor));
  } catch (const Error& e) {
    r.plan_error = e.what();
    r.plan = plan_attention(
        attention_plan_input(config, AttentionChoice::kAuto, r.cc_major, r.cc_minor));
  }
  return r;
}

std::string versions_line(const CudaSetupReport& r) {
  std::ostringstream s;
  if (r.cudnn.available) {
    s << "cuDNN library " << r.cudnn.library.str() << " (" << r.cudnn_path << ")";
  } else {
    s << "cuDNN unavailable (" << r.cudnn.why_unavailable << ")";
  }
  s << ", headers " << r.cudnn.headers.str() << "; cuBLASLt " << r.cublaslt_version << "; driver "
    << r.driver_version / 1000 << "." << r.driver_version % 1000 / 10 << ", runtime "
    << r.runtime_version / 1000 << "." << r.runtime_version % 1000 / 10;
  return s.str();
}

}  // namespace framescribe::inference::cuda
