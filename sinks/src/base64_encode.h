// Base64 encoding (RFC 4648, standard alphabet, '=' padding) for data: URIs. core/base64.h
// only decodes; this is the other direction, private to the sinks.
//
//   std::string uri = "data:image/jpeg;base64," + encode_base64(jpeg.bytes);
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace framescribe::sinks {

std::string encode_base64(std::span<const std::uint8_t> bytes);

}  // namespace framescribe::sinks
