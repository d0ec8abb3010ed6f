// Base64 decoding with positions in every error (RFC 4648 section 4).
#include "framescribe/core/base64.h"

#include <string>

#include "framescribe/core/error.h"

namespace framescribe::core {
namespace {

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u > 0x7e) return "byte " + std::to_string(u);
  return std::string("character '") + c + "'";
}

}  // namespace

std::vector<std::uint8_t> decode_base64(std::string_view text, std::string_view name,
                                        bool allow_whitespace) {
  const std::string prefix = name.empty() ? std::string() : std::string(name) + ": ";
  FS_CHECK(allow_whitespace || text.size() % 4 == 0, kInvalidArgument,
           prefix << "invalid base64: length " << text.size() << " is not a multiple of 4");
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int n_chars = 0;    // data characters in the current quantum
  int n_padding = 0;  // '=' seen (only at the very end)
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (allow_whitespace && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) continue;
    if (c == '=') {
      FS_CHECK(n_chars >= 2 && n_padding < 4 - n_chars, kInvalidArgument,
               prefix << "invalid base64: misplaced '=' at position " << i);
      ++n_padding;
      continue;
    }
    const int v = value(c);
    FS_CHECK(v >= 0, kInvalidArgument,
             prefix << "invalid base64: " << describe_char(c) << " at position " << i);
    FS_CHECK(n_padding == 0, kInvalidArgument,
             prefix << "invalid base64: data after '=' padding at position " << i);
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++n_chars == 4) {
      out.push_back(static_cast<std::uint8_t>(acc >> 16));
      out.push_back(static_cast<std::uint8_t>(acc >> 8));
      out.push_back(static_cast<std::uint8_t>(acc));
      acc = 0;
      n_chars = 0;
    }
  }
  if (n_chars != 0) {
    FS_CHECK(n_chars >= 2 && n_chars + n_padding == 4, kInvalidArgument,
             prefix << "invalid base64: the data ends in the middle of a group (missing '='"
                       " padding or truncated)");
    if (n_chars == 2) {
      out.push_back(static_cast<std::uint8_t>(acc >> 4));
    } else {
      out.push_back(static_cast<std::uint8_t>(acc >> 10));
      out.push_back(static_cast<std::uint8_t>(acc >> 2));
    }
  } else {
    FS_CHECK(n_padding == 0, kInvalidArgument, prefix << "invalid base64: stray '=' padding");
  }
  return out;
}

}  // namespace framescribe::core
