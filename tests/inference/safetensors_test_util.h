// Shared by the safetensors tests (safetensors_test.cpp, safetensors_malformed_test.cpp,
// tensor_store_test.cpp): error expectations and small writers.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/safetensors.h"
#include "inference/test_files.h"

namespace safetensors_test {

namespace fs = std::filesystem;
namespace fst = framescribe::testing;
using framescribe::Error;
using framescribe::ErrorCode;
using fst::write_raw_safetensors;
using fst::write_safetensors;
using namespace framescribe::inference;

// Runs `fn`, expects it to throw framescribe::Error with `code` and a message containing every
// one of `parts`.
inline ::testing::AssertionResult throws_error(const std::function<void()>& fn, ErrorCode code,
                                               std::initializer_list<std::string_view> parts) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() != code) {
      return ::testing::AssertionFailure()
             << "code " << framescribe::to_string(e.code()) << ", expected "
             << framescribe::to_string(code) << "; message: " << e.what();
    }
    const std::string message = e.what();
    for (std::string_view part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks \"" << part << "\": " << message;
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-framescribe exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

inline void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline fst::RawTensor u16_tensor(std::string dtype, std::vector<std::int64_t> shape,
                                 const std::vector<std::uint16_t>& bits) {
  fst::RawTensor t{std::move(dtype), std::move(shape), std::vector<std::uint8_t>(bits.size() * 2)};
  std::memcpy(t.bytes.data(), bits.data(), t.bytes.size());
  return t;
}

inline std::uint32_t bits_of(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

// A header whose only tensor is F32 [3, 4] at the given offsets.
inline std::string one_tensor_header(const std::string& entry) {
  return R"({"x":)" + entry + "}";
}

}  // namespace safetensors_test
