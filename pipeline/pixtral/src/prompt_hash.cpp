#include "framescribe/pixtral/prompt_hash.h"

#include <cstdio>

namespace framescribe::pixtral {

std::string prompt_hash(std::span<const std::int32_t> ids) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::int32_t id : ids) {
    const auto u = static_cast<std::uint32_t>(id);
    for (int b = 0; b < 4; ++b) {
      h ^= (u >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace framescribe::pixtral
