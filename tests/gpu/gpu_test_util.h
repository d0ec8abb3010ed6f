// Helpers for the CUDA tests (label gpu): device detection, device arrays, bf16 rounding on the
// host, seeded random data and the tolerance checks of docs/architecture.md.
//
// Every test starts with FS_REQUIRE_GPU(): without a usable device it reports SKIPPED, never
// passed. Every comparison also asserts finite outputs and a non-zero reference norm, so a
// kernel that writes nothing (or zeros) cannot pass by accident.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device_memory.h"
#include "cuda/ops.h"

namespace framescribe::gpu_test {

namespace fc = framescribe::inference::cuda;

// True when cudaGetDeviceCount reports at least one device.
bool have_gpu();

#define FS_REQUIRE_GPU()                                                        \
  do {                                                                          \
    if (!::framescribe::gpu_test::have_gpu()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// FS_GPU_SMALL_SHAPES=1 (tools/device/check.sh under compute-sanitizer, ~100x slower): cases
// whose work (e.g. queries x keys x heads x head_dim) exceeds kSmallShapeWork report SKIPPED.
bool small_shapes_only();
inline constexpr double kSmallShapeWork = 8e6;
#define FS_SKIP_IF_LARGE(work)                                                        \
  do {                                                                                \
    if (::framescribe::gpu_test::small_shapes_only() &&                               \
        static_cast<double>(work) > ::framescribe::gpu_test::kSmallShapeWork)         \
      GTEST_SKIP() << "large shape skipped (FS_GPU_SMALL_SHAPES=1): work " << (work); \
  } while (0)

// Round-to-nearest-even to bf16 and back, on the host: the reference sees exactly the values
// the kernel reads.
std::uint16_t bf16_bits(float f);
float bf16_value(std::uint16_t bits);
inline float round_bf16(float f) {
  return bf16_value(bf16_bits(f));
}

// Uniform values in [lo, hi) from a fixed seed (an LCG: the same data on every platform).
std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo = -1.0f,
                                 float hi = 1.0f);
std::vector<float> rounded_bf16(std::vector<float> v);

// A typed device array with upload/download; synchronous (tests only).
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n) : buf_(n * sizeof(T), "a test array"), n_(n) {}
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  T* get() const { return buf_.as<T>(); }
  std::size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    FS_CUDA_CHECK(cudaMemcpy(get(), host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy may return before the DMA has landed, and the engine's
    // Stream is non-blocking (no implicit ordering with the legacy default stream): wait here.
    FS_CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    FS_CUDA_CHECK(cudaDeviceSynchronize());
    FS_CUDA_CHECK(cudaMemcpy(host.data(), get(), n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  fc::DeviceBuffer buf_;
  std::size_t n_;
};

// bf16 arrays are stored as bf16 on the device and seen as floats on the host.
DeviceArray<fc::bf16> to_device_bf16(const std::vector<float>& host);
std::vector<float> from_device_bf16(const DeviceArray<fc::bf16>& dev);

// Elementwise: |got - ref| <= atol + rtol * |ref| everywhere; also all finite and ref non-zero.
// Reports the worst element. `what` names the case in failure messages.
::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& ref,
                                     double atol, double rtol, const std::string& what);
// ||got - ref|| / ||ref|| <= tol (for GEMMs and reductions, where single elements near zero
// carry cancellation error); also all finite and ref non-zero.
::testing::AssertionResult norm_close(const std::vector<float>& got, const std::vector<float>& ref,
                                      double tol, const std::string& what);

}  // namespace framescribe::gpu_test
