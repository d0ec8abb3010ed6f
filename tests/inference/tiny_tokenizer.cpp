#include "inference/tiny_tokenizer.h"

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace framescribe::testing {
namespace {

std::string base64_of_byte(std::uint8_t byte) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s += k[byte >> 2];
  s += k[(byte & 3) << 4];
  return s + "==";
}

}  // namespace

inference::Tokenizer tiny_tokenizer() {
  nlohmann::json vocab = nlohmann::json::array();
  for (int b = 0; b < 256; ++b)
    vocab.push_back({{"rank", b},
                     {"token_bytes", base64_of_byte(static_cast<std::uint8_t>(b))},
                     {"token_str", nullptr}});
  const nlohmann::json j = {{"config",
                             {{"pattern", std::string(inference::kTekkenPattern)},
                              {"num_vocab_tokens", 256},
                              {"default_vocab_size", 512},
                              {"default_num_special_tokens", 256},
                              {"version", "v3"}}},
                            {"vocab", vocab}};
  return inference::Tokenizer::from_tekken_json(j.dump(), "tiny tekken (tests)");
}

}  // namespace framescribe::testing
