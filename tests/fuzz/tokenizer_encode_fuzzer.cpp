// libFuzzer target for the encoder: the input is arbitrary bytes (valid UTF-8 or not). Encoding
// must give only BPE ids (never special ones), decoding them must give back exactly the input,
// and the streaming decoder fed one id at a time must produce the same bytes, in whole
// characters whenever the input is valid UTF-8. Any mismatch aborts.
//
// The vocabulary is built here (the 256 bytes, English pairs and words, whitespace runs, whole
// and partial multi-byte characters, a few invalid byte pairs) and read through
// Tokenizer::from_tekken_json, with the tekken pattern.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target tokenizer_encode_fuzzer
//   build/fuzz/tests/fuzz/tokenizer_encode_fuzzer CORPUS_COPY     or tools/fuzz.sh [seconds]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/tokenizer.h"

namespace {

namespace fi = framescribe::inference;

std::string base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::unique_ptr<fi::Tokenizer> build_tokenizer() {
  std::vector<std::string> tokens;
  std::set<std::string> seen;
  auto add = [&](const std::string& t) {
    if (!t.empty() && seen.insert(t).second) tokens.push_back(t);
  };
  for (int b = 0; b < 256; ++b) add(std::string(1, static_cast<char>(b)));
  for (const char* t :
       {"  ", "    ", "\n\n", "\r\n",  " \n",  "\t\t",     "th",   "he",       "in",      "er",
        "an", " t",   " a",   "the",   " the", "ing",      "and",  " and",     "tion",    "The",
        "..", "12",   "00",   "[INST", "</",   "\xff\xfe", "\xc3", "\xe4\xb8", "\xf0\x9f"}) {
    add(t);
  }
  for (char a = 'a'; a <= 'z'; ++a) {
    add(std::string(" ") + a);
    for (char b = 'a'; b <= 'z'; b += 3) add(std::string(1, a) + b);
  }
  // Whole characters and character pairs: é ü ß 中 日 本 語 😀 👍.
  const char* chars[] = {"\xc3\xa9",     "\xc3\xbc",         "\xc3\x9f",
                         "\xe4\xb8\xad", "\xe6\x97\xa5",     "\xe6\x9c\xac",
                         "\xe8\xaa\x9e", "\xf0\x9f\x98\x80", "\xf0\x9f\x91\x8d"};
  for (const char* a : chars) {
    add(a);
    for (const char* b : chars) add(std::string(a) + b);
  }
  std::string json = R"({"config": {"pattern": ")" + json_escape(std::string(fi::kTekkenPattern)) +
                     R"(", "default_vocab_size": )" + std::to_string(1000 + tokens.size()) +
                     R"(, "default_num_special_tokens": 1000, "version": "v3"}, "vocab": [)";
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    json += (r ? "," : "") + std::string(R"({"rank": )") + std::to_string(r) +
            R"(, "token_bytes": ")" + base64(tokens[r]) + R"(", "token_str": null})";
  }
  json += "]}";
  return std::make_unique<fi::Tokenizer>(fi::Tokenizer::from_tekken_json(json, "fuzz/tekken.json"));
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

const fi::Tokenizer* g_tok = nullptr;

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "tokenizer_encode_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  framescribe::core::set_log_level(framescribe::core::LogLevel::kError);
  static std::unique_ptr<fi::Tokenizer> tok = build_tokenizer();
  g_tok = tok.get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fi::Tokenizer& tok = *g_tok;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<int> ids = tok.encode(text);
  if (ids.size() > size) mismatch("more ids than bytes");
  for (int id : ids) {
    if (tok.is_special(id) || id >= tok.vocab_size()) mismatch("encode gave a special or bad id");
  }
  if (tok.decode(ids, fi::SpecialTokenPolicy::kRaise) != text) mismatch("decode(encode(x)) != x");
  // Valid UTF-8 streams in whole characters; invalid bytes pass through as they are.
  const bool valid = valid_utf8(text);
  fi::StreamingDecoder stream(tok);
  std::string streamed;
  for (int id : ids) {
    const std::string part = stream.push(id);
    if (valid && !valid_utf8(part)) mismatch("streamed half a character");
    streamed += part;
    if (text.substr(0, streamed.size()) != streamed) mismatch("streamed bytes differ from x");
  }
  streamed += stream.flush();
  if (streamed != text) mismatch("streamed text != x");
  return 0;
}
