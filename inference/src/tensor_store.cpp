// TensorStore: one safetensors file or a sharded checkpoint (model.safetensors.index.json).
#include "framescribe/inference/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "untrusted_json.h"

namespace framescribe::inference {

namespace fs = std::filesystem;
using json = nlohmann::json;
using detail::json_type_name;
using detail::JsonPreScan;
using detail::parse_json;
using detail::printable;

namespace {

// Index files list tensor names and shard names only; Pixtral-12B's is ~100 KiB.
constexpr std::uintmax_t kMaxIndexBytes = 64ull << 20;
// {"metadata": {"total_size": N}, "weight_map": {name: shard}} is 2 levels; writers add small
// metadata objects, so some room is left.
constexpr std::size_t kMaxIndexDepth = 8;

std::string join_paths(const std::vector<fs::path>& paths) {
  std::string out;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i > 0) out += ", ";
    out += paths[i].string();
  }
  return out;
}

}  // namespace

namespace {

json read_index(const fs::path& index_path) {
  const std::string source = index_path.string();
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(index_path, ec);
  FS_CHECK(!ec, kIo, source << ": cannot read: " << ec.message());
  FS_CHECK(size <= kMaxIndexBytes, kMalformedModel,
           source << ": index is " << size << " bytes, more than the " << kMaxIndexBytes
                  << " this reader accepts for a list of tensor names");
  std::ifstream in(index_path, std::ios::binary);
  FS_CHECK(in, kIo, source << ": cannot open: " << std::strerror(errno));
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  FS_CHECK(in.gcount() == static_cast<std::streamsize>(text.size()), kIo,
           source << ": read " << in.gcount() << " of " << size << " bytes");

  const char* begin = text.data();
  const char* end = begin + text.size();
  // No limit on top-level keys here: the weight_map entries sit one level down and are counted
  // against kMaxTensors below.
  JsonPreScan scan(kMaxIndexDepth, std::numeric_limits<std::size_t>::max(), "");
  const JsonPreScan::Failure failure = scan.run(begin, end);
  FS_CHECK(failure != JsonPreScan::Failure::kSyntax, kMalformedModel,
           source << ": not valid JSON; expected a safetensors index");
  FS_CHECK(failure != JsonPreScan::Failure::kTooDeep, kMalformedModel,
           source << ": JSON nests deeper than " << kMaxIndexDepth
                  << " levels, the most this reader accepts for a safetensors index (an object "
                     "with a \"weight_map\" object of strings)");
  // A repeated weight_map key would put one tensor in two shards.
  FS_CHECK(failure != JsonPreScan::Failure::kDuplicateKey, kMalformedModel,
           source << ": key '" << printable(scan.duplicate_key())
                  << "' appears twice; in weight_map that would put one tensor in two shards");
  json root = parse_json(begin, end);
  FS_CHECK(!root.is_discarded(), kMalformedModel,
           source << ": not valid JSON; expected a safetensors index");
  FS_CHECK(
      root.is_object() && root.contains("weight_map") && root["weight_map"].is_object(),
      kMalformedModel,
      source << ": expected an object with a \"weight_map\" object (tensor name -> shard file)");
  FS_CHECK(root["weight_map"].size() <= kMaxTensors, kMalformedModel,
           source << ": weight_map lists " << root["weight_map"].size()
                  << " tensors, more than the " << kMaxTensors << " this reader accepts");
  return root;
}

// Shard names are joined to the index's directory; anything that could escape it is refused.
fs::path shard_path(const fs::path& index_path, const std::string& shard) {
  const std::string source = index_path.string();
  const fs::path relative(shard);
  FS_CHECK(!shard.empty() && shard.find('\0') == std::string::npos, kMalformedModel,
           source << ": weight_map names an empty or invalid shard file name");
  FS_CHECK(!relative.is_absolute() && !relative.has_root_path(), kMalformedModel,
           source << ": shard '" << printable(shard)
                  << "' is an absolute path; expected a file next to the index");
  for (const auto& part : relative) {
    FS_CHECK(part != "..", kMalformedModel,
             source << ": shard '" << printable(shard)
                    << "' contains '..'; expected a file inside the index's directory");
  }
  return index_path.parent_path() / relative;
}

}  // namespace

TensorStore TensorStore::open(const fs::path& path) {
  TensorStore store;
  std::error_code ec;
  FS_CHECK(fs::exists(path, ec), kNotFound,
           path.string()
               << ": no such file; expected model.safetensors or model.safetensors.index.json");

  if (path.extension() != ".json") {
    store.files_.push_back(SafetensorsFile::open(path));
    const SafetensorsFile* file = store.files_.back().get();
    for (const TensorInfo& t : file->tensors()) store.index_.emplace(t.name, Entry{file, &t});
    return store;
  }

  const std::string source = path.string();
  const json root = read_index(path);
  // shard file name -> tensors the index assigns to it, so each shard is mapped once.
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : root["weight_map"].items()) {
    FS_CHECK(shard.is_string(), kMalformedModel,
             source << ": weight_map['" << printable(name) << "'] is " << json_type_name(shard)
                    << ", expected a shard file name");
    by_shard[shard.get<std::string>()].push_back(name);
  }

  for (const auto& [shard, names] : by_shard) {
    const fs::path shard_file = shard_path(path, shard);
    FS_CHECK(fs::exists(shard_file, ec), kNotFound,
             source << ": shard '" << printable(shard) << "' (" << shard_file.string()
                    << ") does not exist; was the checkpoint downloaded completely?");
    std::shared_ptr<const SafetensorsFile> file;
    try {
      file = SafetensorsFile::open(shard_file);
    } catch (const Error& e) {
      throw Error(e.code(), std::string(e.what()) + " (a shard of " + source + ")");
    }
    for (const std::string& name : names) {
      const TensorInfo* info = file->find(name);
      FS_CHECK(info != nullptr, kMalformedModel,
               source << ": weight_map puts tensor '" << printable(name) << "' in '"
                      << printable(shard) << "', but that shard has no such tensor");
      store.index_.emplace(name, Entry{file.get(), info});
    }
    store.files_.push_back(std::move(file));
  }
  return store;
}

const TensorStore::Entry& TensorStore::entry(std::string_view name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) [[unlikely]] {
    std::vector<fs::path> paths;
    for (const auto& f : files_) paths.push_back(f->path());
    FS_FAIL(kNotFound,
            "tensor '" << printable(name) << "' not found in "
                       << (paths.empty() ? std::string("an empty tensor store") : join_paths(paths))
                       << "; is this a Pixtral checkpoint?");
  }
  return it->second;
}

const TensorInfo* TensorStore::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.info;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, e] : index_) out.push_back(name);  // std::map: already sorted
  return out;
}

const fs::path& TensorStore::file_of(std::string_view name) const {
  return entry(name).file->path();
}

std::span<const std::uint8_t> TensorStore::bytes(std::string_view name) const {
  const Entry& e = entry(name);
  return e.file->bytes(*e.info);
}

std::vector<float> TensorStore::load_f32(std::string_view name,
                                         std::span<const std::int64_t> expected_shape) const {
  const Entry& e = entry(name);
  const TensorInfo& info = *e.info;
  FS_CHECK(std::equal(info.shape.begin(), info.shape.end(), expected_shape.begin(),
                      expected_shape.end()),
           kMalformedModel,
           e.file->path().string()
               << ": tensor '" << printable(name) << "': expected shape "
               << shape_to_string(expected_shape) << " but the file has "
               << shape_to_string(info.shape) << "; does config.json match these weights?");
  FS_CHECK(info.dtype == DType::kF32 || info.dtype == DType::kF16 || info.dtype == DType::kBF16,
           kUnsupported,
           e.file->path().string() << ": tensor '" << printable(name) << "' is "
                                   << to_string(info.dtype) << "; expected F32, F16 or BF16");
  std::vector<float> out(static_cast<std::size_t>(info.numel()));
  convert_to_f32(info.dtype, e.file->bytes(info), out.data());
  return out;
}

std::vector<std::int64_t> TensorStore::load_i64(std::string_view name) const {
  const Entry& e = entry(name);
  const TensorInfo& info = *e.info;
  FS_CHECK(info.dtype == DType::kI64 || info.dtype == DType::kI32, kUnsupported,
           e.file->path().string() << ": tensor '" << printable(name) << "' is "
                                   << to_string(info.dtype) << "; expected I64 or I32");
  const auto bytes = e.file->bytes(info);
  std::vector<std::int64_t> out(static_cast<std::size_t>(info.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (info.dtype == DType::kI64) {
      std::memcpy(&out[i], bytes.data() + 8 * i, 8);
    } else {
      std::int32_t v = 0;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      out[i] = v;
    }
  }
  return out;
}
}  // namespace framescribe::inference
