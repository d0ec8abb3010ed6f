// Move-only owners of CUDA and cuBLASLt handles: Stream (non-blocking), Event, CublasLtHandle.
// Destructors never throw; creation failures throw framescribe::Error.
//
//   Stream stream;                 // cudaStreamNonBlocking
//   kernel<<<g, b, 0, stream.get()>>>(...);
//   stream.synchronize();          // throws on an asynchronous error
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

namespace framescribe::inference::cuda {

class Stream {
 public:
  Stream();
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  Event();  // with timing, for benchmarks
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const;
  // Milliseconds between `start` and this event; both must have completed.
  float ms_since(const Event& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

class CublasLtHandle {
 public:
  CublasLtHandle();
  ~CublasLtHandle();
  CublasLtHandle(CublasLtHandle&& other) noexcept;
  CublasLtHandle& operator=(CublasLtHandle&& other) noexcept;
  CublasLtHandle(const CublasLtHandle&) = delete;
  CublasLtHandle& operator=(const CublasLtHandle&) = delete;
  cublasLtHandle_t get() const { return handle_; }

 private:
  cublasLtHandle_t handle_ = nullptr;
};

// Throws Error(kUnsupported) when no CUDA device is usable (no driver, no GPU), naming why.
void require_device();

}  // namespace framescribe::inference::cuda
