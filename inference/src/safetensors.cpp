#include "framescribe/inference/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "untrusted_json.h"

namespace framescribe::inference {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The format is little-endian and the converters below reinterpret bytes in host order.
static_assert(std::endian::native == std::endian::little,
              "safetensors reader assumes a little-endian host");

namespace {

constexpr std::size_t kLengthPrefixBytes = 8;

struct DTypeName {
  DType dtype;
  std::string_view name;
  std::size_t size_bytes;
};

constexpr DTypeName kDTypes[] = {
    {DType::kF64, "F64", 8},   {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},   {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

// Messages and the pre-scan of untrusted JSON (untrusted_json.h), shared with the index reader.
using detail::describe;
using detail::json_type_name;
using detail::JsonPreScan;
using detail::parse_json;
using detail::printable;

bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads one shape entry; non-negative and representable as int64 (TensorInfo stores int64).
bool shape_dim(const json& j, std::int64_t* out) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    *out = static_cast<std::int64_t>(v);
    return true;
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v < 0) return false;
    *out = v;
    return true;
  }
  return false;
}

TensorInfo parse_tensor_entry(const std::string& name, const json& entry, std::string_view source) {
  const std::string shown = printable(name);
  FS_CHECK(entry.is_object(), kMalformedModel,
           source << ": tensor '" << shown
                  << "': expected an object with dtype, shape and data_offsets, found "
                  << json_type_name(entry));
  for (const auto& [key, value] : entry.items()) {
    FS_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", kMalformedModel,
             source << ": tensor '" << shown << "': unexpected key '" << printable(key)
                    << "'; expected exactly dtype, shape and data_offsets");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    FS_CHECK(entry.contains(key), kMalformedModel,
             source << ": tensor '" << shown << "': missing \"" << key
                    << "\"; expected exactly dtype, shape and data_offsets");
  }

  TensorInfo info;
  info.name = name;

  const json& dtype = entry["dtype"];
  FS_CHECK(dtype.is_string(), kMalformedModel,
           source << ": tensor '" << shown << "': dtype must be a string, found "
                  << json_type_name(dtype));
  FS_CHECK(parse_dtype(dtype.get_ref<const std::string&>(), &info.dtype), kMalformedModel,
           source << ": tensor '" << shown << "': unknown dtype '"
                  << printable(dtype.get_ref<const std::string&>())
                  << "'; expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");

  const json& shape = entry["shape"];
  FS_CHECK(shape.is_array(), kMalformedModel,
           source << ": tensor '" << shown
                  << "': shape must be an array of non-negative integers, found "
                  << json_type_name(shape));
  FS_CHECK(shape.size() <= kMaxTensorRank, kMalformedModel,
           source << ": tensor '" << shown << "': shape has rank " << shape.size() << ", at most "
                  << kMaxTensorRank << " is supported");
  info.shape.reserve(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::int64_t dim = 0;
    FS_CHECK(shape_dim(shape[i], &dim), kMalformedModel,
             source << ": tensor '" << shown << "': shape[" << i << "] is " << describe(shape[i])
                    << ", expected a non-negative integer");
    info.shape.push_back(dim);
  }

  const json& offsets = entry["data_offsets"];
  FS_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
               offsets[1].is_number_unsigned(),
           kMalformedModel,
           source << ": tensor '" << shown << "': data_offsets is " << describe(offsets)
                  << ", expected [begin, end] with two non-negative integers");
  info.begin_bytes = offsets[0].get<std::uint64_t>();
  info.end_bytes = offsets[1].get<std::uint64_t>();
  FS_CHECK(info.begin_bytes <= info.end_bytes, kMalformedModel,
           source << ": tensor '" << shown << "': data_offsets [" << info.begin_bytes << ", "
                  << info.end_bytes << ") end before they begin");

  // Zero dims are skipped so the result does not depend on dimension order: [0, 2^40, 2^40] is
  // still rejected, because code that computes strides from the shape would overflow on it.
  std::uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (std::int64_t dim : info.shape) {
    if (dim == 0) {
      has_zero = true;
      continue;
    }
    FS_CHECK(
        checked_mul(nonzero_product, static_cast<std::uint64_t>(dim), &nonzero_product) &&
            nonzero_product <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
        kMalformedModel,
        source << ": tensor '" << shown << "': shape " << shape_to_string(info.shape)
               << " has more elements than fit in 64 bits");
  }
  const std::uint64_t numel = has_zero ? 0 : nonzero_product;
  std::uint64_t needed_bytes = 0;
  FS_CHECK(checked_mul(numel, dtype_size_bytes(info.dtype), &needed_bytes), kMalformedModel,
           source << ": tensor '" << shown << "': " << to_string(info.dtype) << " "
                  << shape_to_string(info.shape) << " needs more bytes than fit in 64 bits");
  FS_CHECK(info.size_bytes() == needed_bytes, kMalformedModel,
           source << ": tensor '" << shown << "': data_offsets [" << info.begin_bytes << ", "
                  << info.end_bytes << ") hold " << info.size_bytes() << " bytes but "
                  << to_string(info.dtype) << " " << shape_to_string(info.shape) << " needs "
                  << needed_bytes);
  return info;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string_view to_string(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "unknown";
}

std::size_t dtype_size_bytes(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.size_bytes;
  }
  FS_ASSERT(false && "DType without a size");
  return 0;
}

bool parse_dtype(std::string_view name, DType* out) {
  for (const auto& d : kDTypes) {
    if (d.name == name) {
      *out = d.dtype;
      return true;
    }
  }
  return false;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (std::int64_t dim : shape) n *= dim;
  return n;
}

std::string shape_to_string(std::span<const std::int64_t> shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file,
                                           std::uint64_t file_size_bytes, std::string_view source) {
  FS_CHECK(
      file_size_bytes >= kLengthPrefixBytes, kMalformedModel,
      source
          << ": file is " << file_size_bytes
          << " bytes, too short for a safetensors file (it starts with an 8-byte header length)");
  FS_CHECK(
      file.size() >= kLengthPrefixBytes, kInvalidArgument,
      source << ": only " << file.size() << " bytes given to the header parser, need at least 8");
  const std::uint64_t header_bytes = read_u64_le(file.data());
  FS_CHECK(
      header_bytes >= 2, kMalformedModel,
      source << ": header length is " << header_bytes << " bytes, expected at least 2 (\"{}\")");
  FS_CHECK(header_bytes <= kMaxHeaderBytes, kMalformedModel,
           source << ": header length is " << header_bytes << " bytes, more than the "
                  << kMaxHeaderBytes << " this reader accepts; is this a safetensors file?");
  FS_CHECK(kLengthPrefixBytes + header_bytes <= file_size_bytes, kMalformedModel,
           source << ": header length " << header_bytes << " runs past the end of the file (8 + "
                  << header_bytes << " > " << file_size_bytes
                  << " bytes); the file may be truncated");
  FS_CHECK(kLengthPrefixBytes + header_bytes <= file.size(), kInvalidArgument,
           source << ": only " << file.size()
                  << " bytes given to the header parser, the header needs "
                  << kLengthPrefixBytes + header_bytes);

  SafetensorsHeader header;
  header.data_offset_bytes = kLengthPrefixBytes + header_bytes;
  const std::uint64_t data_bytes = file_size_bytes - header.data_offset_bytes;

  const auto* json_begin = reinterpret_cast<const char*>(file.data() + kLengthPrefixBytes);
  const char* json_end = json_begin + header_bytes;
  JsonPreScan scan(kMaxHeaderDepth, kMaxTensors, "__metadata__");
  const JsonPreScan::Failure failure = scan.run(json_begin, json_end);
  FS_CHECK(failure != JsonPreScan::Failure::kSyntax, kMalformedModel,
           source << ": the " << header_bytes
                  << "-byte header is not valid JSON; is this a safetensors file?");
  FS_CHECK(failure != JsonPreScan::Failure::kTooDeep, kMalformedModel,
           source << ": header JSON nests deeper than " << kMaxHeaderDepth
                  << " levels, the most this reader accepts (a safetensors header is an object "
                     "of tensor objects holding arrays of integers: 3 levels)");
  FS_CHECK(failure != JsonPreScan::Failure::kTooManyRootKeys, kMalformedModel,
           source << ": header lists more than " << kMaxTensors
                  << " tensors, the most this reader accepts");
  FS_CHECK(failure != JsonPreScan::Failure::kDuplicateKey, kMalformedModel,
           source << ": header has the key '" << printable(scan.duplicate_key()) << "' twice"
                  << (scan.duplicate_depth() > 1 ? " inside one entry" : "")
                  << "; which one is meant is ambiguous");
  const json root = parse_json(json_begin, json_end);
  FS_CHECK(!root.is_discarded(), kMalformedModel,
           source << ": the " << header_bytes
                  << "-byte header is not valid JSON; is this a safetensors file?");
  FS_CHECK(
      root.is_object(), kMalformedModel,
      source << ": header JSON is " << json_type_name(root) << ", expected an object of tensors");

  const bool has_metadata = root.contains("__metadata__");
  const std::size_t n_tensors = root.size() - (has_metadata ? 1 : 0);
  FS_CHECK(n_tensors <= kMaxTensors, kMalformedModel,
           source << ": header lists " << n_tensors << " tensors, more than the " << kMaxTensors
                  << " this reader accepts");

  header.tensors.reserve(n_tensors);
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      FS_CHECK(entry.is_object(), kMalformedModel,
               source << ": __metadata__ is " << json_type_name(entry)
                      << ", expected an object of strings");
      for (const auto& [key, value] : entry.items()) {
        FS_CHECK(value.is_string(), kMalformedModel,
                 source << ": __metadata__['" << printable(key) << "'] is " << json_type_name(value)
                        << ", expected a string");
        header.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    TensorInfo info = parse_tensor_entry(name, entry, source);
    FS_CHECK(info.end_bytes <= data_bytes, kMalformedModel,
             source << ": tensor '" << printable(name) << "': data_offsets [" << info.begin_bytes
                    << ", " << info.end_bytes << ") run past the end of the " << data_bytes
                    << "-byte data section; the file may be truncated");
    header.tensors.push_back(std::move(info));
  }

  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin_bytes, a.end_bytes, a.name) <
                     std::tie(b.begin_bytes, b.end_bytes, b.name);
            });
  // Empty tensors own no bytes, so they may sit anywhere, including at another tensor's offset.
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& t : header.tensors) {
    if (t.size_bytes() == 0) continue;
    FS_CHECK(previous == nullptr || previous->end_bytes <= t.begin_bytes, kMalformedModel,
             source << ": tensor '" << printable(t.name) << "': data_offsets [" << t.begin_bytes
                    << ", " << t.end_bytes << ") overlap tensor '" << printable(previous->name)
                    << "' at [" << previous->begin_bytes << ", " << previous->end_bytes << ")");
    previous = &t;
  }
  return header;
}

float bf16_to_f32(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  std::uint32_t out = 0;
  if (exponent == 0x1f) {
    // Inf stays inf; NaN keeps its payload (shifted), so it stays NaN.
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    out = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else {
    // Subnormal f16 is a normal f32: shift the leading 1 into the implicit bit.
    exponent = 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3ffu;
    out = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(out);
}

void convert_to_f32(DType dtype, std::span<const std::uint8_t> bytes, float* out) {
  const std::size_t elem = dtype_size_bytes(dtype);
  FS_CHECK(bytes.size() % elem == 0, kInvalidArgument,
           "convert_to_f32: " << bytes.size() << " bytes is not a whole number of "
                              << to_string(dtype) << " elements");
  const std::size_t n = bytes.size() / elem;
  // The data section carries no alignment promise, hence memcpy rather than casts.
  switch (dtype) {
    case DType::kF32:
      if (n > 0) std::memcpy(out, bytes.data(), bytes.size());
      return;
    case DType::kF16:
    case DType::kBF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t bits = 0;
        std::memcpy(&bits, bytes.data() + 2 * i, 2);
        out[i] = dtype == DType::kF16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      return;
    default:
      FS_FAIL(kUnsupported, "convert_to_f32: cannot widen "
                                << to_string(dtype) << " to float32; expected F32, F16 or BF16");
  }
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  const std::string source = path.string();
  FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  FS_CHECK(fd.fd >= 0, kIo, source << ": cannot open: " << std::strerror(errno));
  struct stat st {};
  FS_CHECK(::fstat(fd.fd, &st) == 0, kIo, source << ": cannot stat: " << std::strerror(errno));
  FS_CHECK(S_ISREG(st.st_mode), kIo,
           source << ": not a regular file; expected a .safetensors file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  FS_CHECK(size <= std::numeric_limits<std::size_t>::max(), kIo,
           source << ": " << size << " bytes do not fit in this process's address space");

  // Private constructor, so no make_shared; the object owns the mapping from here on and its
  // destructor unmaps it if validation below throws.
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  if (size < kLengthPrefixBytes) {
    // mmap of 0 bytes fails with EINVAL; let the parser word the "too short" error instead.
    file->header_ = parse_safetensors_header({}, size, source);
    FS_ASSERT(false && "a file shorter than 8 bytes cannot pass validation");
  }
  void* map = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd.fd, 0);
  FS_CHECK(map != MAP_FAILED, kIo,
           source << ": cannot mmap " << size << " bytes: " << std::strerror(errno));
  file->map_ = static_cast<const std::uint8_t*>(map);
  file->map_size_ = static_cast<std::size_t>(size);
  file->header_ = parse_safetensors_header({file->map_, file->map_size_}, size, source);
  const std::vector<TensorInfo>& tensors = file->header_.tensors;
  file->by_name_.resize(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) file->by_name_[i] = i;
  std::sort(file->by_name_.begin(), file->by_name_.end(),
            [&](std::size_t a, std::size_t b) { return tensors[a].name < tensors[b].name; });
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), map_size_);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = std::lower_bound(
      by_name_.begin(), by_name_.end(), name,
      [&](std::size_t i, std::string_view n) { return header_.tensors[i].name < n; });
  if (it == by_name_.end() || header_.tensors[*it].name != name) return nullptr;
  return &header_.tensors[*it];
}

std::span<const std::uint8_t> SafetensorsFile::bytes(const TensorInfo& info) const {
  // The header parser guarantees this for every TensorInfo of this file.
  FS_ASSERT(header_.data_offset_bytes + info.end_bytes <= map_size_);
  return {map_ + header_.data_offset_bytes + info.begin_bytes,
          static_cast<std::size_t>(info.size_bytes())};
}

}  // namespace framescribe::inference
