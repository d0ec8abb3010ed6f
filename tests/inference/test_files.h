// Test helpers: scratch directories and safetensors files written byte by byte, so tests can
// build valid and deliberately broken checkpoints without any Python.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace framescribe::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct RawTensor {
  std::string dtype = "F32";  // written verbatim into the header
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

RawTensor f32_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values);
RawTensor i64_tensor(std::vector<std::int64_t> shape, const std::vector<std::int64_t>& values);

// Writes a well-formed safetensors file (tensors laid out in name order, header padded to 8).
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, RawTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// Writes `header_json` as the header verbatim, followed by `data` (for malformed cases).
void write_raw_safetensors(const std::filesystem::path& path, const std::string& header_json,
                           const std::vector<std::uint8_t>& data);
void write_text(const std::filesystem::path& path, const std::string& text);
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path);

}  // namespace framescribe::testing
