// Private to the tokenizer: what the two file readers (tokenizer_files.cpp) hand to the
// encoder (tokenizer.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "framescribe/inference/tokenizer.h"

namespace framescribe::inference {

// A vocabulary as read from a file, before validation of the byte tokens.
struct TokenizerData {
  std::string source;  // file name for messages
  TokenizerFormat format = TokenizerFormat::kTekken;
  std::string version;
  std::string pattern;                // the regex to compile
  std::vector<std::string> ranks;     // rank -> token bytes
  int num_special = 0;                // ids [0, num_special) are special
  std::vector<std::string> specials;  // names of ids [0, specials.size()); the rest are fillers
  // "vocab[12].token_bytes" or similar: where rank r came from, for messages.
  std::function<std::string(int rank)> field_of_rank;
};

// Validates the byte tokens (ranks 0..255 are the 256 single bytes in order, no empty token, no
// duplicate), builds the lookup table, compiles the pattern. Throws Error(kMalformedModel).
Tokenizer make_tokenizer(TokenizerData data);

// The pattern as PCRE2 must see it to split like tiktoken: `\s`/`\S` spelled out as Unicode
// White_Space and every \p{L}, \p{Lu}, ... \p{M}, \p{N} with the code points of newer Unicode
// versions tiktoken knows added (tokenizer.cpp). Other syntax is copied unchanged.
std::string tiktoken_compatible_pattern(std::string_view pattern);

// Open addressing from token bytes to rank over one contiguous byte buffer; lookups hash the
// bytes once and compare against the buffer (no per-token allocation, few cache misses).
class RankTable {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  // Indexes tokens[r] as rank r. A token equal to an earlier one is not indexed; the first such
  // pair is recorded in `duplicate` / `duplicate_of`.
  void build(const std::vector<std::string>& tokens);
  // The rank of these bytes, or kNone.
  std::uint32_t find(std::string_view bytes) const;
  std::string_view bytes(std::uint32_t rank) const {
    return std::string_view(buffer_).substr(offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
  }
  std::size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  std::uint32_t duplicate = kNone;
  std::uint32_t duplicate_of = kNone;

 private:
  std::string buffer_;
  std::vector<std::uint32_t> offsets_;
  std::vector<std::uint32_t> slots_;  // rank or kNone
  std::uint64_t mask_ = 0;
};

}  // namespace framescribe::inference
