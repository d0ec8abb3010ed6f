// Device memory owners. DeviceBuffer is one cudaMalloc, freed on destruction; DeviceArena is one
// DeviceBuffer carved into aligned views by a bump pointer (weights, KV cache, scratch), so the
// engine allocates at load time only and a window allocates nothing.
//
//   DeviceArena arena(total_bytes);              // throws Error(kOutOfMemory) naming the size
//   auto* w = arena.take<__nv_bfloat16>(n);      // 256-byte aligned, valid while arena lives
//
// ArenaPlan counts the same take() calls without allocating, so a layout function written once
// (templated over the allocator) gives both the size and the views. Not thread-safe; move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace framescribe::inference::cuda {

inline constexpr std::size_t kDeviceAlignBytes = 256;  // cuBLASLt's preferred alignment

inline std::size_t align_up(std::size_t n, std::size_t a) {
  return (n + a - 1) / a * a;
}

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `what` names the buffer in the out-of-memory message.
  DeviceBuffer(std::size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return ptr_; }
  std::size_t size_bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void reset() noexcept;
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Counts bytes for a layout without allocating.
class ArenaPlan {
 public:
  template <typename T>
  T* take(std::int64_t count) {
    bytes_ = align_up(bytes_, kDeviceAlignBytes) + static_cast<std::size_t>(count) * sizeof(T);
    return nullptr;
  }
  std::size_t size_bytes() const { return align_up(bytes_, kDeviceAlignBytes); }

 private:
  std::size_t bytes_ = 0;
};

class DeviceArena {
 public:
  DeviceArena() = default;
  DeviceArena(std::size_t bytes, const std::string& what) : buffer_(bytes, what), what_(what) {}

  // Throws Error(kInternal) when the plan was smaller than the takes (a bug).
  template <typename T>
  T* take(std::int64_t count) {
    return static_cast<T*>(take_bytes(static_cast<std::size_t>(count) * sizeof(T)));
  }
  std::size_t size_bytes() const { return buffer_.size_bytes(); }
  std::size_t used_bytes() const { return used_; }

 private:
  void* take_bytes(std::size_t bytes);
  DeviceBuffer buffer_;
  std::string what_;
  std::size_t used_ = 0;
};

}  // namespace framescribe::inference::cuda
