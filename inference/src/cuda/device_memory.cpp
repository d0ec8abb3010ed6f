#include "cuda/device_memory.h"

#include <cuda_runtime_api.h>

#include <utility>

#include "cuda/cuda_check.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

DeviceBuffer::DeviceBuffer(std::size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) return;
  const cudaError_t status = cudaMalloc(&ptr_, bytes);
  if (status != cudaSuccess) {
    ptr_ = nullptr;
    bytes_ = 0;
    std::size_t free_bytes = 0, total_bytes = 0;
    (void)cudaGetLastError();  // clear the (non-sticky) allocation error before asking again
    const bool info = cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
    FS_FAIL(kOutOfMemory, "cannot allocate " << (bytes >> 20) << " MiB on the GPU for " << what
                                             << " (" << cudaGetErrorString(status) << ")"
                                             << (info ? "; free: " : "")
                                             << (info ? std::to_string(free_bytes >> 20) : "")
                                             << (info ? " MiB of " : "")
                                             << (info ? std::to_string(total_bytes >> 20) : "")
                                             << (info ? " MiB" : "")
                                             << "; lower max_context_tokens or use a larger GPU");
  }
}

DeviceBuffer::~DeviceBuffer() {
  reset();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::reset() noexcept {
  // Destructors never throw: a failed free (a sticky error already reported) is ignored.
  if (ptr_ != nullptr) (void)cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

void* DeviceArena::take_bytes(std::size_t bytes) {
  const std::size_t begin = align_up(used_, kDeviceAlignBytes);
  FS_CHECK(begin + bytes <= buffer_.size_bytes(), kInternal,
           "device arena '" << what_ << "' overflow: " << begin + bytes << " bytes of "
                            << buffer_.size_bytes() << " (the layout plan is out of date)");
  used_ = begin + bytes;
  return static_cast<char*>(buffer_.data()) + begin;
}

}  // namespace framescribe::inference::cuda
