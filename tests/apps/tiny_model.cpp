#include "apps/tiny_model.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decoder/image_test_util.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::testing {

namespace fs = std::filesystem;

// tekken.json without a special_tokens list (as Pixtral-12B's): 256 specials (the standard 20
// names, then "<SPECIAL_n>"), then the 256 single bytes: 512 ids, fixture A's vocabulary.
void write_test_tekken(const fs::path& path) {
  nlohmann::json vocab = nlohmann::json::array();
  for (int b = 0; b < 256; ++b) {
    const std::vector<std::uint8_t> byte = {static_cast<std::uint8_t>(b)};
    vocab.push_back({{"rank", b}, {"token_bytes", base64_encode(byte)}, {"token_str", nullptr}});
  }
  nlohmann::json j = {{"config",
                       {{"pattern", std::string(inference::kTekkenPattern)},
                        {"num_vocab_tokens", 256},
                        {"default_vocab_size", 512},
                        {"default_num_special_tokens", 256},
                        {"version", "v3"}}},
                      {"vocab", vocab}};
  std::ofstream(path) << j.dump();
}

fs::path make_tiny_model(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path fixture = fs::path(FS_TEST_DATA_DIR) / "reference" / "pixtral_tiny_a";
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(fixture / f, dir / f, fs::copy_options::overwrite_existing);
  write_test_tekken(dir / "tekken.json");
  return dir;
}

}  // namespace framescribe::testing
