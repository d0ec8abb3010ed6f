// Base64 (RFC 4648, standard alphabet, '=' padding required), for tokenizer files and data URIs.
//
//   std::vector<std::uint8_t> b = core::decode_base64("aGVsbG8=", "vocab[7].token_bytes");
//
// Throws framescribe::Error(kInvalidArgument) "<name>: invalid base64: <what and where>".
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace framescribe::core {

// `allow_whitespace`: ASCII spaces, tabs and line breaks between characters are skipped (data
// URIs are often wrapped); otherwise they are errors (tekken.json token bytes are strict).
std::vector<std::uint8_t> decode_base64(std::string_view text, std::string_view name,
                                        bool allow_whitespace = false);

}  // namespace framescribe::core
