#include "gpu/gpu_test_util.h"

#include "framescribe/inference/safetensors.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

namespace framescribe::gpu_test {

bool have_gpu() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) (void)cudaGetLastError();
  return status == cudaSuccess && count > 0;
}

bool small_shapes_only() {
  const char* env = std::getenv("FS_GPU_SMALL_SHAPES");
  return env != nullptr && std::string(env) == "1";
}

std::uint16_t bf16_bits(float f) {
  return inference::f32_to_bf16(f);
}

float bf16_value(std::uint16_t bits) {
  return inference::bf16_to_f32(bits);
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float lo, float hi) {
  std::vector<float> v(n);
  std::uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

std::vector<float> rounded_bf16(std::vector<float> v) {
  for (float& x : v) x = round_bf16(x);
  return v;
}

DeviceArray<fc::bf16> to_device_bf16(const std::vector<float>& host) {
  std::vector<fc::bf16> bits(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) {
    __nv_bfloat16_raw raw;
    raw.x = bf16_bits(host[i]);
    bits[i] = raw;
  }
  return DeviceArray<fc::bf16>(bits);
}

std::vector<float> from_device_bf16(const DeviceArray<fc::bf16>& dev) {
  const std::vector<fc::bf16> bits = dev.download();
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const __nv_bfloat16_raw raw = bits[i];
    out[i] = bf16_value(raw.x);
  }
  return out;
}

namespace {

::testing::AssertionResult basic_checks(const std::vector<float>& got,
                                        const std::vector<float>& ref, const std::string& what,
                                        double* ref_norm) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure()
           << what << ": " << got.size() << " values, expected " << ref.size();
  double n2 = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i]))
      return ::testing::AssertionFailure()
             << what << ": non-finite value " << got[i] << " at " << i;
    n2 += static_cast<double>(ref[i]) * ref[i];
  }
  if (!(n2 > 0.0))
    return ::testing::AssertionFailure() << what << ": the reference is all zeros (bad test)";
  *ref_norm = std::sqrt(n2);
  return ::testing::AssertionSuccess();
}

}  // namespace

::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& ref,
                                     double atol, double rtol, const std::string& what) {
  double ref_norm = 0.0;
  if (auto r = basic_checks(got, ref, what, &ref_norm); !r) return r;
  std::size_t worst = 0, bad = 0;
  double worst_excess = -1.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - ref[i]);
    const double allowed = atol + rtol * std::fabs(static_cast<double>(ref[i]));
    if (err > allowed) ++bad;
    if (err - allowed > worst_excess) {
      worst_excess = err - allowed;
      worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << bad << " of " << got.size() << " values outside atol " << atol
         << " + rtol " << rtol << "; worst at " << worst << ": got " << got[worst] << ", expected "
         << ref[worst];
}

::testing::AssertionResult norm_close(const std::vector<float>& got, const std::vector<float>& ref,
                                      double tol, const std::string& what) {
  double ref_norm = 0.0;
  if (auto r = basic_checks(got, ref, what, &ref_norm); !r) return r;
  double d2 = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    d2 += d * d;
  }
  const double rel = std::sqrt(d2) / ref_norm;
  if (rel <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": normalised error " << rel << " above " << tol;
}

}  // namespace framescribe::gpu_test
