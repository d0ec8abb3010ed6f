// Private to inference: reading JSON from untrusted model files (safetensors headers, their
// index): one-line bounded messages about values, and a SAX pre-scan that refuses deep
// nesting, too many top-level keys and repeated keys before any tree is built.
#pragma once

#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace framescribe::inference::detail {

using json = nlohmann::json;
// Names come from untrusted files: keep messages one line and of bounded length.
inline std::string printable(std::string_view s) {
  constexpr std::size_t kMaxShown = 200;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

inline std::string_view json_type_name(const json& j) {
  if (j.is_number_float()) return "a floating-point number";
  if (j.is_number()) return "an integer";
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::binary:
      return "binary";
    default:
      return "an unknown value";
  }
}

// Shows a value from an untrusted header. dump() recurses, so a deeply nested array (the header
// may be 100 MiB) is described by its type instead of printed.
inline std::string describe(const json& j) {
  if (j.is_primitive()) return printable(j.dump());
  if (j.is_array() && j.size() <= 4 &&
      std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_primitive(); })) {
    return printable(j.dump());
  }
  std::ostringstream os;
  os << json_type_name(j) << " of size " << j.size();
  return os.str();
}

// A SAX pass over untrusted JSON before any of it is built into a tree. It refuses, without
// allocating more than the open containers' keys:
//  - nesting deeper than `max_depth` (a 100 MiB header of '[' would otherwise build 100 M
//    nested arrays, ~1.7 GB, before any check ran);
//  - more than `max_root_keys` keys in the top-level object (the tensor count limit);
//  - a repeated key in one object: nlohmann keeps the last of two equal keys, so a checkpoint
//    with two "w" entries (or a tensor with two "dtype"s) would be silently ambiguous.
// The tree is then built by the plain parser. nlohmann's parser *callback* is not used for
// this: after every closed object it scans the parent for discarded values, which is
// quadratic in the number of tensors (100k empty tensors took 97 s).
class JsonPreScan {
 public:
  enum class Failure { kNone, kSyntax, kTooDeep, kTooManyRootKeys, kDuplicateKey };

  JsonPreScan(std::size_t max_depth, std::size_t max_root_keys, std::string_view ignored_root_key)
      : max_depth_(max_depth), max_root_keys_(max_root_keys), ignored_root_key_(ignored_root_key) {}

  // Scans [begin, end); returns kNone if the text may be parsed.
  Failure run(const char* begin, const char* end) {
    json::sax_parse(begin, end, this, nlohmann::detail::input_format_t::json, /*strict=*/true);
    return failure_;
  }
  const std::string& duplicate_key() const { return duplicate_key_; }
  std::size_t duplicate_depth() const { return duplicate_depth_; }

  // nlohmann's SAX interface: returning false stops the parse.
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    if (!open_container()) return false;
    open_objects_.emplace_back();
    return true;
  }
  bool end_object() {
    open_objects_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) { return open_container(); }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(json::string_t& k) {
    if (depth_ == 1 && k != ignored_root_key_ && ++root_keys_ > max_root_keys_) {
      return fail(Failure::kTooManyRootKeys);
    }
    if (!open_objects_.back().insert(k).second) {
      duplicate_key_ = k;
      duplicate_depth_ = depth_;
      return fail(Failure::kDuplicateKey);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return fail(Failure::kSyntax);
  }

 private:
  bool open_container() {
    if (++depth_ > max_depth_) return fail(Failure::kTooDeep);
    return true;
  }
  bool fail(Failure f) {
    if (failure_ == Failure::kNone) failure_ = f;
    return false;
  }

  std::size_t max_depth_;
  std::size_t max_root_keys_;
  std::string_view ignored_root_key_;
  std::size_t depth_ = 0;
  std::size_t root_keys_ = 0;
  std::vector<std::unordered_set<std::string>> open_objects_;
  Failure failure_ = Failure::kNone;
  std::string duplicate_key_;
  std::size_t duplicate_depth_ = 0;
};

// Parses untrusted JSON that passed a JsonPreScan, without exceptions (is_discarded() on error).
inline json parse_json(const char* begin, const char* end) {
  return json::parse(begin, end, /*cb=*/nullptr, /*allow_exceptions=*/false);
}

}  // namespace framescribe::inference::detail
