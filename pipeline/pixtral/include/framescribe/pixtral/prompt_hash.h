// A short fingerprint of a prompt's token ids, written into events and prompt dumps so two runs
// can tell whether the model was asked the same thing.
//
//   std::string h = pixtral::prompt_hash(prompt.ids);   // "9c3e0f4b1a2d7e65"
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace framescribe::pixtral {

// 16 hex digits: FNV-1a 64 of the token ids (little-endian int32 bytes).
std::string prompt_hash(std::span<const std::int32_t> ids);

}  // namespace framescribe::pixtral
