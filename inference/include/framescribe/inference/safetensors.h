// Reading safetensors checkpoints: one file (mmap) or a sharded set behind
// model.safetensors.index.json, with every header field validated before use.
//
//   auto store = framescribe::inference::TensorStore::open("model_dir/model.safetensors");
//   std::vector<float> w = store.load_f32("vision_tower.ln_pre.weight", {1024});
//
// Format (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N,
// N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"k": "v"}}, then the data section; offsets are relative to its start.
//
// Ownership: SafetensorsFile owns its mapping; byte spans it returns live as long as it does.
// TensorStore owns its files. Both are immutable after open() and safe to read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace framescribe::inference {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view to_string(DType dtype);
std::size_t dtype_size_bytes(DType dtype);
// "F32" -> kF32 ...; false for names this reader does not know.
bool parse_dtype(std::string_view name, DType* out);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin_bytes = 0;  // offset into the data section
  std::uint64_t end_bytes = 0;
  std::int64_t numel() const;
  std::uint64_t size_bytes() const { return end_bytes - begin_bytes; }
};

std::string shape_to_string(std::span<const std::int64_t> shape);  // "[3, 16, 16]"

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in file order (sorted by begin_bytes)
  std::map<std::string, std::string> metadata;
  std::uint64_t data_offset_bytes = 0;  // 8 + header length
};

// Limits that keep a hostile header from exhausting memory.
inline constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MiB of JSON
inline constexpr std::size_t kMaxTensorRank = 8;
inline constexpr std::size_t kMaxTensors = 1u << 20;  // also for an index's weight_map
// JSON nesting: the format needs 3 levels (header object, tensor object, shape array); one more
// lets a value of the wrong type one level down be reported as such. Checked by a streaming
// pass before anything is built, so a deep document costs no memory.
inline constexpr std::size_t kMaxHeaderDepth = 4;

// Parses and validates the header of a safetensors file. `file` is the whole file (or at least
// its first 8 + N bytes; `file_size_bytes` is the size of the whole file). Checks: the length
// prefix fits in the file and the limits; the JSON nests at most kMaxHeaderDepth levels and
// lists at most kMaxTensors tensors (both checked before the JSON is built, in time and memory
// linear in the header); no key twice in one object; the JSON is an object of objects with exactly
// the known keys; known dtype; shape entries non-negative, rank <= kMaxTensorRank, element count
// without overflow; end - begin == numel * dtype size; every range inside the data section;
// no two ranges overlap. Throws framescribe::Error(kMalformedModel) naming `source` (a path for
// messages) and the tensor.
SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file,
                                           std::uint64_t file_size_bytes, std::string_view source);

// Widens F32/F16/BF16 data to float32. Throws kUnsupported for other dtypes.
void convert_to_f32(DType dtype, std::span<const std::uint8_t> bytes, float* out);
float bf16_to_f32(std::uint16_t bits);
float f16_to_f32(std::uint16_t bits);
// float32 -> bf16 bits, round to nearest even (NaN stays a quiet NaN): what the GPU's
// __float2bfloat16_rn does, for the CUDA engine's uploads and the dummy weights.
std::uint16_t f32_to_bf16(float f);

// One memory-mapped .safetensors file.
class SafetensorsFile {
 public:
  // Throws Error(kIo) if the file cannot be opened or mapped, kMalformedModel if invalid.
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const TensorInfo* find(std::string_view name) const;  // nullptr if absent; O(log n)
  std::span<const std::uint8_t> bytes(const TensorInfo& info) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  SafetensorsHeader header_;
  // Indices into header_.tensors sorted by name: a sharded checkpoint looks up every tensor the
  // index names, and a linear find() made that quadratic in the tensor count.
  std::vector<std::size_t> by_name_;
  const std::uint8_t* map_ = nullptr;
  std::size_t map_size_ = 0;
};

// All tensors of a checkpoint, whether in one file or in shards.
class TensorStore {
 public:
  // A single .safetensors file, or a model.safetensors.index.json ("weight_map": name -> shard
  // file, relative to the index). Every shard named by the index must exist and hold the
  // tensors the index assigns to it.
  static TensorStore open(const std::filesystem::path& path);

  bool contains(std::string_view name) const { return find(name) != nullptr; }
  const TensorInfo* find(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted
  std::size_t size() const { return index_.size(); }
  // Which file holds a tensor (for messages).
  const std::filesystem::path& file_of(std::string_view name) const;
  std::span<const std::uint8_t> bytes(std::string_view name) const;

  // Loads a tensor widened to float32. Throws Error(kNotFound) if absent and
  // Error(kMalformedModel) if its shape is not `expected_shape`; both name the tensor, the file
  // and what was expected.
  std::vector<float> load_f32(std::string_view name,
                              std::span<const std::int64_t> expected_shape) const;
  std::vector<float> load_f32(std::string_view name,
                              std::initializer_list<std::int64_t> expected_shape) const {
    return load_f32(name,
                    std::span<const std::int64_t>(expected_shape.begin(), expected_shape.size()));
  }
  // Loads an integer tensor (I64, I32) as int64 (fixtures carry token ids and sizes this way).
  std::vector<std::int64_t> load_i64(std::string_view name) const;

 private:
  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> index_;
  const Entry& entry(std::string_view name) const;
};

}  // namespace framescribe::inference
