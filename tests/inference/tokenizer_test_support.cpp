#include "inference/tokenizer_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>

namespace framescribe::testing {
namespace {

enum class Cat { kLu, kLl, kLt, kLm, kLo, kM, kN, kSpace, kOther, kUnknown };

// General categories of the characters the corpus uses (Unicode 15 data, by hand). \s is
// Unicode White_Space without U+0085, which the corpus avoids.
Cat category(char32_t c) {
  if (c == '\t' || c == '\n' || c == 0x0B || c == 0x0C || c == '\r' || c == ' ') return Cat::kSpace;
  if (c < 0x80) {
    if (c >= 'A' && c <= 'Z') return Cat::kLu;
    if (c >= 'a' && c <= 'z') return Cat::kLl;
    if (c >= '0' && c <= '9') return Cat::kN;
    return Cat::kOther;
  }
  struct Range {
    char32_t lo, hi;
    Cat cat;
  };
  static const Range kTable[] = {
      {0x80, 0x84, Cat::kOther},       {0x86, 0x9F, Cat::kOther},
      {0xA0, 0xA0, Cat::kSpace},       {0xA1, 0xA9, Cat::kOther},
      {0xAA, 0xAA, Cat::kLo},          {0xAB, 0xB1, Cat::kOther},
      {0xB2, 0xB3, Cat::kN},           {0xB4, 0xB4, Cat::kOther},
      {0xB5, 0xB5, Cat::kLl},          {0xB6, 0xB8, Cat::kOther},
      {0xB9, 0xB9, Cat::kN},           {0xBA, 0xBA, Cat::kLo},
      {0xBB, 0xBB, Cat::kOther},       {0xBC, 0xBE, Cat::kN},
      {0xBF, 0xBF, Cat::kOther},       {0xC0, 0xD6, Cat::kLu},
      {0xD7, 0xD7, Cat::kOther},       {0xD8, 0xDE, Cat::kLu},
      {0xDF, 0xF6, Cat::kLl},          {0xF7, 0xF7, Cat::kOther},
      {0xF8, 0xFF, Cat::kLl},          {0x1C4, 0x1C4, Cat::kLu},
      {0x1C5, 0x1C5, Cat::kLt},        {0x1C6, 0x1C6, Cat::kLl},
      {0x244, 0x244, Cat::kLu},        {0x2B0, 0x2C1, Cat::kLm},
      {0x300, 0x36F, Cat::kM},         {0x391, 0x3A1, Cat::kLu},
      {0x3A3, 0x3A9, Cat::kLu},        {0x3AC, 0x3CE, Cat::kLl},
      {0x410, 0x42F, Cat::kLu},        {0x430, 0x44F, Cat::kLl},
      {0x5B0, 0x5B9, Cat::kM},         {0x5D0, 0x5EA, Cat::kLo},
      {0x621, 0x63A, Cat::kLo},        {0x640, 0x640, Cat::kLm},
      {0x641, 0x64A, Cat::kLo},        {0x64B, 0x65F, Cat::kM},
      {0x660, 0x669, Cat::kN},         {0x2000, 0x200A, Cat::kSpace},
      {0x200B, 0x200F, Cat::kOther},   {0x2010, 0x2027, Cat::kOther},
      {0x2028, 0x2029, Cat::kSpace},   {0x202A, 0x202E, Cat::kOther},
      {0x202F, 0x202F, Cat::kSpace},   {0x2030, 0x205E, Cat::kOther},
      {0x205F, 0x205F, Cat::kSpace},   {0x20A0, 0x20C0, Cat::kOther},
      {0x2160, 0x2188, Cat::kN},       {0x2190, 0x23FF, Cat::kOther},
      {0x2600, 0x2767, Cat::kOther},   {0x3000, 0x3000, Cat::kSpace},
      {0x3001, 0x3003, Cat::kOther},   {0x3041, 0x3096, Cat::kLo},
      {0x309D, 0x309E, Cat::kLm},      {0x30A1, 0x30FA, Cat::kLo},
      {0x30FC, 0x30FE, Cat::kLm},      {0x4E00, 0x9FFF, Cat::kLo},
      {0xAC00, 0xD7A3, Cat::kLo},      {0xFE0F, 0xFE0F, Cat::kM},
      {0xFF01, 0xFF0F, Cat::kOther},   {0xFF10, 0xFF19, Cat::kN},
      {0xFF21, 0xFF3A, Cat::kLu},      {0xFF41, 0xFF5A, Cat::kLl},
      {0x1F1E6, 0x1F1FF, Cat::kOther}, {0x1F300, 0x1F64F, Cat::kOther},
      {0x1F680, 0x1F6FF, Cat::kOther}, {0x1F900, 0x1F9FF, Cat::kOther},
  };
  for (const Range& r : kTable) {
    if (c >= r.lo && c <= r.hi) return r.cat;
  }
  return Cat::kUnknown;
}

bool is_letter(Cat c) {
  return c == Cat::kLu || c == Cat::kLl || c == Cat::kLt || c == Cat::kLm || c == Cat::kLo;
}

// One element of a regex alternative: a character class with a greedy {min, max} quantifier, or
// the zero-width assertion (?!\S).
struct Item {
  std::function<bool(char32_t)> cls;  // empty: the (?!\S) assertion
  int min = 1;
  int max = 1;
};
constexpr int kMany = std::numeric_limits<int>::max();

// Backtracking match of items[k..] at pos, greedy quantifiers tried longest first (as PCRE2 and
// fancy-regex do). Returns the end of the match.
std::optional<std::size_t> match_items(const std::vector<Item>& items, std::size_t k,
                                       const std::vector<char32_t>& s, std::size_t pos) {
  if (k == items.size()) return pos;
  const Item& it = items[k];
  if (!it.cls) {
    if (pos < s.size() && category(s[pos]) != Cat::kSpace) return std::nullopt;
    return match_items(items, k + 1, s, pos);
  }
  int count = 0;
  while (count < it.max && pos + static_cast<std::size_t>(count) < s.size() &&
         it.cls(s[pos + static_cast<std::size_t>(count)])) {
    ++count;
  }
  for (int c = count; c >= it.min; --c) {
    if (auto end = match_items(items, k + 1, s, pos + static_cast<std::size_t>(c))) return end;
  }
  return std::nullopt;
}

const std::vector<std::vector<Item>>& tekken_alternatives() {
  auto cat_is = [](std::initializer_list<Cat> cats) {
    std::vector<Cat> v(cats);
    return [v](char32_t c) {
      Cat k = category(c);
      if (k == Cat::kUnknown)
        ADD_FAILURE() << "character U+" << std::hex << unsigned(c)
                      << " is not in the test's category table";
      return std::find(v.begin(), v.end(), k) != v.end();
    };
  };
  auto crlf = [](char32_t c) { return c == '\r' || c == '\n'; };
  // [^\r\n\p{L}\p{N}]
  auto a = [](char32_t c) {
    Cat k = category(c);
    return !(c == '\r' || c == '\n' || is_letter(k) || k == Cat::kN);
  };
  auto upper = cat_is({Cat::kLu, Cat::kLt, Cat::kLm, Cat::kLo, Cat::kM});
  auto lower = cat_is({Cat::kLl, Cat::kLm, Cat::kLo, Cat::kM});
  auto number = cat_is({Cat::kN});
  auto space = cat_is({Cat::kSpace});
  auto not_space_letter_number = [](char32_t c) {
    Cat k = category(c);
    return !(k == Cat::kSpace || is_letter(k) || k == Cat::kN);
  };
  static const std::vector<std::vector<Item>> alts = {
      {{a, 0, 1}, {upper, 0, kMany}, {lower, 1, kMany}},
      {{a, 0, 1}, {upper, 1, kMany}, {lower, 0, kMany}},
      {{number, 1, 1}},
      {{[](char32_t c) { return c == ' '; }, 0, 1},
       {not_space_letter_number, 1, kMany},
       {[](char32_t c) { return c == '\r' || c == '\n' || c == '/'; }, 0, kMany}},
      {{space, 0, kMany}, {crlf, 1, kMany}},
      {{space, 1, kMany}, {{}, 0, 0}},
      {{space, 1, kMany}},
  };
  return alts;
}

}  // namespace

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += static_cast<std::size_t>(n);
  }
  return out;
}

std::string utf8_encode(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::vector<std::string> reference_split(std::string_view text) {
  const std::vector<char32_t> s = utf8_decode(text);
  std::vector<std::string> pieces;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = pos;
    for (const auto& alt : tekken_alternatives()) {
      end = match_items(alt, 0, s, pos).value_or(pos);
      if (end > pos) break;
    }
    if (end == pos) {
      ADD_FAILURE() << "reference splitter: nothing matches at character " << pos;
      return pieces;
    }
    std::string piece;
    for (std::size_t i = pos; i < end; ++i) piece += utf8_encode(s[i]);
    pieces.push_back(piece);
    pos = end;
  }
  return pieces;
}

std::vector<int> reference_bpe(const std::string& piece, const std::map<std::string, int>& ranks) {
  if (auto it = ranks.find(piece); it != ranks.end()) return {it->second};
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  while (parts.size() > 1) {
    int best_rank = std::numeric_limits<int>::max();
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks.find(parts[i] + parts[i + 1]);
      if (it != ranks.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int>::max()) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  std::vector<int> out;
  for (const std::string& p : parts) out.push_back(ranks.at(p));
  return out;
}

std::vector<int> reference_encode(std::string_view text, const std::map<std::string, int>& ranks,
                                  int num_special) {
  std::vector<int> ids;
  for (const std::string& piece : reference_split(text)) {
    for (int r : reference_bpe(piece, ranks)) ids.push_back(r + num_special);
  }
  return ids;
}

std::vector<std::string> train_bpe(const std::vector<std::string>& corpus, int n_merges) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  std::map<std::string, int> piece_counts;
  for (const std::string& text : corpus) {
    for (const std::string& p : reference_split(text)) ++piece_counts[p];
  }
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [p, n] : piece_counts) {
    std::vector<std::string> w;
    for (char c : p) w.emplace_back(1, c);
    words.emplace_back(std::move(w), n);
  }
  std::map<std::string, int> known;
  for (const std::string& t : tokens) known[t] = 1;
  for (int m = 0; m < n_merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [w, n] : words) {
      for (std::size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += n;
    }
    std::pair<std::string, std::string> best;
    int best_n = 1;  // a pair must occur at least twice
    for (const auto& [p, n] : pairs) {
      if (n > best_n) {
        best_n = n;
        best = p;
      }
    }
    if (best_n < 2) break;
    const std::string merged = best.first + best.second;
    if (!known.count(merged)) {
      known[merged] = 1;
      tokens.push_back(merged);
    }
    for (auto& [w, n] : words) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == best.first && w[i + 1] == best.second) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      w = std::move(out);
    }
  }
  return tokens;
}

std::string base64_encode(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::map<std::string, int> TestVocab::rank_map() const {
  std::map<std::string, int> m;
  for (std::size_t r = 0; r < tokens.size(); ++r) m.emplace(tokens[r], static_cast<int>(r));
  return m;
}

std::vector<std::string> deprecated_specials(int num_special) {
  std::vector<std::string> s = {"<unk>",
                                "<s>",
                                "</s>",
                                "[INST]",
                                "[/INST]",
                                "[AVAILABLE_TOOLS]",
                                "[/AVAILABLE_TOOLS]",
                                "[TOOL_RESULTS]",
                                "[/TOOL_RESULTS]",
                                "[TOOL_CALLS]",
                                "[IMG]",
                                "<pad>",
                                "[IMG_BREAK]",
                                "[IMG_END]",
                                "[PREFIX]",
                                "[MIDDLE]",
                                "[SUFFIX]",
                                "[SYSTEM_PROMPT]",
                                "[/SYSTEM_PROMPT]",
                                "[TOOL_CONTENT]"};
  for (int i = 20; i < num_special; ++i) s.push_back("<SPECIAL_" + std::to_string(i) + ">");
  return s;
}

nlohmann::json tekken_json(const TestVocab& v, std::string_view pattern,
                           const std::vector<nlohmann::json>& extra_entries) {
  using nlohmann::json;
  json j;
  j["config"] = {{"pattern", pattern},
                 {"num_vocab_tokens", v.tokens.size() + extra_entries.size()},
                 {"default_vocab_size", v.tokens.size() + static_cast<std::size_t>(v.num_special)},
                 {"default_num_special_tokens", v.num_special},
                 {"version", "v3"}};
  json vocab = json::array();
  for (std::size_t r = 0; r < v.tokens.size(); ++r) {
    json e = {{"rank", r}, {"token_bytes", base64_encode(v.tokens[r])}, {"token_str", nullptr}};
    vocab.push_back(e);
  }
  for (const json& e : extra_entries) vocab.push_back(e);
  j["vocab"] = vocab;
  if (!v.specials.empty()) {
    json specials = json::array();
    for (std::size_t i = 0; i < v.specials.size(); ++i) {
      specials.push_back({{"rank", i}, {"token_str", v.specials[i]}, {"is_control", true}});
    }
    j["special_tokens"] = specials;
  }
  j["version"] = 1;
  j["type"] = "Tekken";
  return j;
}

std::string byte_level(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    // The printable bytes keep their code point; the others get U+0100 + their index among the
    // non-printable bytes.
    auto printable = [](int x) {
      return (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
    };
    char32_t cp = b;
    if (!printable(b)) {
      int index = 0;
      for (int x = 0; x < b; ++x) index += printable(x) ? 0 : 1;
      cp = 0x100 + static_cast<char32_t>(index);
    }
    out += utf8_encode(cp);
  }
  return out;
}

const char kLlama3Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

nlohmann::json hf_json(const TestVocab& v, bool array_merges) {
  using nlohmann::json;
  const std::vector<std::string> specials =
      v.specials.empty() ? deprecated_specials(v.num_special) : [&] {
        std::vector<std::string> s = v.specials;
        for (int i = static_cast<int>(s.size()); i < v.num_special; ++i) {
          s.push_back("<SPECIAL_" + std::to_string(i) + ">");
        }
        return s;
      }();
  json j;
  j["version"] = "1.0";
  json added = json::array();
  json vocab = json::object();
  for (std::size_t i = 0; i < specials.size(); ++i) {
    added.push_back({{"id", i},
                     {"content", specials[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab[specials[i]] = i;
  }
  j["added_tokens"] = added;
  const std::map<std::string, int> ranks = v.rank_map();
  struct Merge {
    int merged, left, right;
    std::string l, r;
  };
  std::vector<Merge> merges;
  for (std::size_t r = 0; r < v.tokens.size(); ++r) {
    const std::string& t = v.tokens[r];
    vocab[byte_level(t)] = r + specials.size();
    for (std::size_t cut = 1; cut < t.size(); ++cut) {
      auto l = ranks.find(t.substr(0, cut));
      auto rr = ranks.find(t.substr(cut));
      if (l != ranks.end() && rr != ranks.end()) {
        merges.push_back({static_cast<int>(r), l->second, rr->second, l->first, rr->first});
      }
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return std::tie(a.merged, a.left, a.right) < std::tie(b.merged, b.left, b.right);
  });
  json merge_list = json::array();
  for (const Merge& m : merges) {
    if (array_merges) {
      merge_list.push_back(json::array({byte_level(m.l), byte_level(m.r)}));
    } else {
      merge_list.push_back(byte_level(m.l) + " " + byte_level(m.r));
    }
  }
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Split"},
                                                        {"pattern", {{"Regex", kLlama3Pattern}}},
                                                        {"behavior", "Isolated"},
                                                        {"invert", false}},
                                                       {{"type", "ByteLevel"},
                                                        {"add_prefix_space", false},
                                                        {"trim_offsets", true},
                                                        {"use_regex", false}}})}};
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"},     {"dropout", nullptr},     {"unk_token", nullptr},
                {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", true},
                {"vocab", vocab},    {"merges", merge_list}};
  return j;
}

}  // namespace framescribe::testing
