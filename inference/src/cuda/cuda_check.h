// Checked CUDA and cuBLASLt calls. A failure throws framescribe::Error with the call, the file,
// the line and the runtime's own message, so a setup problem (no device, out of memory at load)
// reaches main() as a readable error and a sticky run-time error stops the engine.
//
//   FS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
//   my_kernel<<<grid, block, 0, stream>>>(...);
//   FS_CUDA_CHECK_LAUNCH();                       // after every kernel launch
//   FS_CUBLAS_CHECK(cublasLtMatmul(...));
//
// Host header: compiles without nvcc.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

namespace framescribe::inference::cuda {

// Cold paths, out of line. cudaErrorMemoryAllocation maps to ErrorCode::kOutOfMemory, a missing
// device or driver to kUnsupported, everything else to kInternal.
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* expr, const char* file,
                                   int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file,
                                     int line);

}  // namespace framescribe::inference::cuda

#define FS_CUDA_CHECK(expr)                                                              \
  do {                                                                                   \
    const cudaError_t fs_cuda_status_ = (expr);                                          \
    if (fs_cuda_status_ != cudaSuccess) [[unlikely]] {                                   \
      ::framescribe::inference::cuda::throw_cuda_error(fs_cuda_status_, #expr, __FILE__, \
                                                       __LINE__);                        \
    }                                                                                    \
  } while (0)

// A launch error (bad configuration) shows at once; an execution error shows at the next
// synchronising call, which is checked too.
#define FS_CUDA_CHECK_LAUNCH() FS_CUDA_CHECK(cudaGetLastError())

#define FS_CUBLAS_CHECK(expr)                                                                \
  do {                                                                                       \
    const cublasStatus_t fs_cublas_status_ = (expr);                                         \
    if (fs_cublas_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]] {                           \
      ::framescribe::inference::cuda::throw_cublas_error(fs_cublas_status_, #expr, __FILE__, \
                                                         __LINE__);                          \
    }                                                                                        \
  } while (0)
