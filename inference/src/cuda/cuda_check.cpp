#include "cuda/cuda_check.h"

#include <sstream>

#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

void throw_cuda_error(cudaError_t status, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << "CUDA error " << cudaGetErrorName(status) << " (" << cudaGetErrorString(status) << ") in "
     << expr << " at " << file << ":" << line;
  ErrorCode code = ErrorCode::kInternal;
  if (status == cudaErrorMemoryAllocation) {
    std::size_t free_bytes = 0, total_bytes = 0;
    // The allocation failed, not the context: asking for the free memory still works.
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      os << "; the device has " << (free_bytes >> 20) << " MiB free of " << (total_bytes >> 20)
         << " MiB (lower max_context_tokens, or use a larger card)";
    }
    code = ErrorCode::kOutOfMemory;
  } else if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver ||
             status == cudaErrorNotSupported) {
    os << "; is an NVIDIA GPU and driver present? (use --device cpu otherwise)";
    code = ErrorCode::kUnsupported;
  }
  detail::throw_error(code, os.str());
}

void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << "cuBLASLt error " << cublasLtGetStatusName(status) << " ("
     << cublasLtGetStatusString(status) << ") in " << expr << " at " << file << ":" << line;
  detail::throw_error(
      status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::kOutOfMemory : ErrorCode::kInternal,
      os.str());
}

}  // namespace framescribe::inference::cuda
