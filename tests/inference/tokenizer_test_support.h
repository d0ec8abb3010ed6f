// Test-only tokenizer machinery, written independently of inference/src/tokenizer*.cpp so the
// tests do not check the encoder against itself:
// - a plain backtracking matcher for the tekken pattern over a hand-written table of Unicode
//   categories (only the scripts the test corpus uses; anything else fails the test),
// - a plain O(n^2) tiktoken BPE over std::map,
// - a tiny BPE trainer, and writers for tekken.json and tokenizer.json files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace framescribe::testing {

// UTF-8 <-> code points (valid UTF-8 only).
std::vector<char32_t> utf8_decode(std::string_view s);
std::string utf8_encode(char32_t cp);

// Splits valid UTF-8 like the tekken regex (docs/pixtral.md 6.3). Calls ADD_FAILURE for a
// character outside the test's category table.
std::vector<std::string> reference_split(std::string_view text);

// tiktoken: whole piece if it is a token, else merge the lowest-ranked adjacent pair (leftmost on
// ties) until none is a token. Returns ranks.
std::vector<int> reference_bpe(const std::string& piece, const std::map<std::string, int>& ranks);

// Reference encoding: split, BPE, + num_special.
std::vector<int> reference_encode(std::string_view text, const std::map<std::string, int>& ranks,
                                  int num_special);

// Learns up to `n_merges` tokens from the corpus (pieces from reference_split), most frequent
// adjacent pair first. Returns the tokens in rank order, the 256 bytes first.
std::vector<std::string> train_bpe(const std::vector<std::string>& corpus, int n_merges);

std::string base64_encode(std::string_view bytes);

// A vocabulary for writing test files: rank -> bytes, and the special token names.
struct TestVocab {
  std::vector<std::string> tokens;  // rank order, tokens[b] == byte b for b < 256
  int num_special = 1000;
  std::vector<std::string> specials;  // empty: tekken.json without a special_tokens list
  std::map<std::string, int> rank_map() const;
};

// tekken.json as mistral-common writes it. `extra_entries` are appended to "vocab" past
// default_vocab_size - num_special (mistral-common ignores them).
nlohmann::json tekken_json(const TestVocab& v, std::string_view pattern,
                           const std::vector<nlohmann::json>& extra_entries = {});
// tokenizer.json as transformers' MistralConverter writes it: specials as added tokens and in the
// vocab, keys through GPT-2 bytes_to_unicode, every split of every token as a merge, sorted by
// the merged token's rank; `array_merges` writes [a, b] instead of "a b". The pre-tokenizer
// carries the Llama-3 pattern, as the real file does.
nlohmann::json hf_json(const TestVocab& v, bool array_merges);
std::string byte_level(std::string_view bytes);  // GPT-2 bytes_to_unicode

// The names mistral-common uses when special_tokens is absent, for num_special ids.
std::vector<std::string> deprecated_specials(int num_special);

extern const char kLlama3Pattern[];

}  // namespace framescribe::testing
