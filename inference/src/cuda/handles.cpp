#include "cuda/handles.h"

#include <utility>

#include "cuda/cuda_check.h"
#include "framescribe/core/error.h"

namespace framescribe::inference::cuda {

Stream::Stream() {
  FS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}
Stream::~Stream() {
  if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
}
Stream::Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}
void Stream::synchronize() const {
  FS_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

Event::Event() {
  FS_CUDA_CHECK(cudaEventCreate(&event_));
}
Event::~Event() {
  if (event_ != nullptr) (void)cudaEventDestroy(event_);
}
Event::Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    if (event_ != nullptr) (void)cudaEventDestroy(event_);
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}
void Event::record(cudaStream_t stream) const {
  FS_CUDA_CHECK(cudaEventRecord(event_, stream));
}
float Event::ms_since(const Event& start) const {
  float ms = 0.0f;
  FS_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, event_));
  return ms;
}

CublasLtHandle::CublasLtHandle() {
  FS_CUBLAS_CHECK(cublasLtCreate(&handle_));
}
CublasLtHandle::~CublasLtHandle() {
  if (handle_ != nullptr) (void)cublasLtDestroy(handle_);
}
CublasLtHandle::CublasLtHandle(CublasLtHandle&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}
CublasLtHandle& CublasLtHandle::operator=(CublasLtHandle&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) (void)cublasLtDestroy(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

void require_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) (void)cudaGetLastError();
  FS_CHECK(status == cudaSuccess && count > 0, kUnsupported,
           "no CUDA device is available ("
               << (status == cudaSuccess ? "cudaGetDeviceCount reports 0 devices"
                                         : cudaGetErrorString(status))
               << "); run on a machine with an NVIDIA GPU and driver, or use --device cpu");
}

}  // namespace framescribe::inference::cuda
