// Fixture A's tiny Pixtral (tests/data/reference/pixtral_tiny_a) as a model directory a user
// would have: config.json, model.safetensors and a tekken.json sized to its 512-id vocabulary
// (256 specials with Pixtral's ids, then the 256 single bytes: one token per byte of text).
#pragma once

#include <filesystem>

namespace framescribe::testing {

void write_test_tekken(const std::filesystem::path& path);
// Creates `dir` (if needed) and fills it; returns `dir`.
std::filesystem::path make_tiny_model(const std::filesystem::path& dir);

}  // namespace framescribe::testing
