// The two tokenizer file readers: Mistral's tekken.json and the Hugging Face tokenizer.json of
// the same vocabulary. Both produce a TokenizerData (rank -> bytes, special names) for
// make_tokenizer(). References: docs/pixtral.md sections 3.2, 6.1, 6.2 and 6.5;
// mistral-common tekken.py (`Tekkenizer.__init__`, `_reload_mergeable_ranks`); transformers
// integrations/mistral.py (`MistralConverter`), GPT-2 `bytes_to_unicode`.
#include <array>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/base64.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/tokenizer.h"
#include "tokenizer_impl.h"

namespace framescribe::inference {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// mistral-common `Tekkenizer.DEPRECATED_SPECIAL_TOKENS`: the special tokens of a tekken.json
// without a special_tokens list (Pixtral-12B's, version v3). Ids 20.. are "<SPECIAL_{id}>".
constexpr std::array<std::string_view, 20> kDeprecatedSpecialTokens = {"<unk>",
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

// Upper bounds that keep a hostile file from asking for absurd allocations before its size
// has shown that the entries exist.
constexpr std::int64_t kMaxSpecial = 1 << 20;
constexpr std::int64_t kMaxVocab = std::numeric_limits<int>::max() / 2;

std::string type_of(const json& j) {
  return j.type_name();
}

// Typed access with messages of the form "tekken.json: vocab[12].rank must be an integer
// (found string)".
struct Field {
  const json& j;
  const std::string& src;
  std::string path;  // "config.pattern", "vocab[12]"

  std::string where() const { return src + ": " + path; }
  Field at(const char* key) const {
    FS_CHECK(j.is_object(), kMalformedModel,
             where() << " must be an object (found " << type_of(j) << ")");
    auto it = j.find(key);
    FS_CHECK(it != j.end(), kMalformedModel,
             src << ": " << (path.empty() ? "" : path + ".") << key << " is missing");
    return Field{*it, src, path.empty() ? key : path + "." + key};
  }
  bool has(const char* key) const {
    return j.is_object() && j.contains(key) && !j.at(key).is_null();
  }
  Field index(std::size_t i) const {
    return Field{j[i], src, path + "[" + std::to_string(i) + "]"};
  }
  const json& array() const {
    FS_CHECK(j.is_array(), kMalformedModel,
             where() << " must be an array (found " << type_of(j) << ")");
    return j;
  }
  const json& object() const {
    FS_CHECK(j.is_object(), kMalformedModel,
             where() << " must be an object (found " << type_of(j) << ")");
    return j;
  }
  std::int64_t integer(std::int64_t lo, std::int64_t hi) const {
    FS_CHECK(
        j.is_number_integer(), kMalformedModel,
        where() << " must be an integer (found " << (j.is_number() ? j.dump() : type_of(j)) << ")");
    if (j.is_number_unsigned()) {
      auto u = j.get<std::uint64_t>();
      FS_CHECK(u <= static_cast<std::uint64_t>(hi), kMalformedModel,
               where() << " = " << u << " is out of range [" << lo << ", " << hi << "]");
      return static_cast<std::int64_t>(u);
    }
    auto v = j.get<std::int64_t>();
    FS_CHECK(v >= lo && v <= hi, kMalformedModel,
             where() << " = " << v << " is out of range [" << lo << ", " << hi << "]");
    return v;
  }
  const std::string& string() const {
    FS_CHECK(j.is_string(), kMalformedModel,
             where() << " must be a string (found " << type_of(j) << ")");
    return j.get_ref<const std::string&>();
  }
};

json parse_json(std::string_view text, const std::string& src) {
  FS_CHECK(!text.empty(), kMalformedModel, src << ": empty file; expected a tokenizer JSON");
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    FS_FAIL(kMalformedModel, src << ": not valid JSON (" << e.what() << ")");
  }
}

// GPT-2 `bytes_to_unicode`: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order. kUnicodeToByte inverts it for code points < 324.
struct ByteLevelMap {
  std::array<int, 324> to_byte{};
  ByteLevelMap() {
    to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_byte[static_cast<std::size_t>(printable ? b : 256 + extra++)] = b;
    }
  }
};

// Maps a byte-level BPE key back to bytes; false if it is not one.
bool byte_level_to_bytes(std::string_view key, std::string& out) {
  static const ByteLevelMap map;
  out.clear();
  std::size_t i = 0;
  while (i < key.size()) {
    const auto c = static_cast<unsigned char>(key[i]);
    std::uint32_t cp = 0;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < key.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(key[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return false;  // 3- and 4-byte characters are all above U+0143
    }
    if (cp >= map.to_byte.size() || map.to_byte[cp] < 0) return false;
    out.push_back(static_cast<char>(map.to_byte[cp]));
  }
  return !out.empty();
}

std::string shown(std::string_view s) {
  std::string q = json(std::string(s)).dump();
  if (q.size() > 60) q = q.substr(0, 57) + "...";
  return q;
}

Tokenizer read_tekken(const json& root, const std::string& src) {
  Field top{root, src, ""};
  top.object();
  Field config = top.at("config");
  config.object();
  TokenizerData data;
  data.source = src;
  data.format = TokenizerFormat::kTekken;
  data.pattern = config.at("pattern").string();
  if (config.has("version")) data.version = config.at("version").string();
  const std::int64_t vocab_size = config.at("default_vocab_size").integer(1, kMaxVocab);
  const std::int64_t num_special = config.at("default_num_special_tokens").integer(0, kMaxSpecial);
  FS_CHECK(vocab_size - num_special >= 256, kMalformedModel,
           src << ": config.default_vocab_size (" << vocab_size
               << ") - config.default_num_special_tokens (" << num_special
               << ") = " << vocab_size - num_special
               << " BPE tokens, fewer than the 256 single bytes a byte-level BPE needs");
  const auto n_ranks = static_cast<std::size_t>(vocab_size - num_special);
  data.num_special = static_cast<int>(num_special);

  Field vocab = top.at("vocab");
  const json& entries = vocab.array();
  FS_CHECK(entries.size() >= n_ranks, kMalformedModel,
           src << ": vocab has " << entries.size() << " entries, fewer than default_vocab_size - "
               << "default_num_special_tokens = " << n_ranks);
  // Only the first n_ranks entries are the model's vocabulary (mistral-common cuts the rest).
  data.ranks.resize(n_ranks);
  std::string why;
  for (std::size_t i = 0; i < n_ranks; ++i) {
    Field e = vocab.index(i);
    e.object();
    const std::int64_t rank = e.at("rank").integer(0, kMaxVocab);
    FS_CHECK(rank == static_cast<std::int64_t>(i), kMalformedModel,
             e.where() << ".rank is " << rank << ", expected " << i
                       << " (vocab entries must be in rank order)");
    Field b64 = e.at("token_bytes");
    try {
      const std::vector<std::uint8_t> bytes = core::decode_base64(b64.string(), b64.where());
      data.ranks[i].assign(bytes.begin(), bytes.end());
    } catch (const Error& err) {
      FS_FAIL(kMalformedModel, err.what());
    }
  }
  data.field_of_rank = [](int r) { return "vocab[" + std::to_string(r) + "].token_bytes"; };

  if (top.has("special_tokens")) {
    Field specials = top.at("special_tokens");
    const json& list = specials.array();
    FS_CHECK(list.size() <= static_cast<std::size_t>(num_special), kMalformedModel,
             specials.where() << " has " << list.size()
                              << " entries, more than config.default_num_special_tokens = "
                              << num_special);
    for (std::size_t i = 0; i < list.size(); ++i) {
      Field e = specials.index(i);
      e.object();
      const std::int64_t rank = e.at("rank").integer(0, kMaxSpecial);
      FS_CHECK(rank == static_cast<std::int64_t>(i), kMalformedModel,
               e.where() << ".rank is " << rank << ", expected " << i);
      const std::string& name = e.at("token_str").string();
      FS_CHECK(!name.empty(), kMalformedModel, e.where() << ".token_str is empty");
      if (e.has("is_control")) {
        FS_CHECK(e.at("is_control").j.is_boolean(), kMalformedModel,
                 e.where() << ".is_control must be a boolean (found "
                           << type_of(e.at("is_control").j) << ")");
      }
      data.specials.push_back(name);
    }
  } else {
    FS_CHECK(num_special >= static_cast<std::int64_t>(kDeprecatedSpecialTokens.size()),
             kMalformedModel,
             src << ": no special_tokens list, and config.default_num_special_tokens ("
                 << num_special << ") is smaller than the " << kDeprecatedSpecialTokens.size()
                 << " default special tokens");
    for (std::string_view s : kDeprecatedSpecialTokens) data.specials.emplace_back(s);
  }

  if (data.pattern != kTekkenPattern) {
    // mistral-common splits with the file's own pattern, so framescribe does too.
    FS_LOG_WARN(src << ": config.pattern differs from the known tekken pattern (docs/pixtral.md "
                       "6.3); using the file's pattern, as mistral-common does");
  }
  return make_tokenizer(std::move(data));
}

Tokenizer read_hf(const json& root, const std::string& src) {
  Field top{root, src, ""};
  top.object();
  Field model = top.at("model");
  model.object();
  if (model.has("type")) {
    const std::string& type = model.at("type").string();
    FS_CHECK(
        type == "BPE", kUnsupported,
        src << ": model.type is \"" << type << "\"; only byte-level BPE (tekken) is supported");
  }
  TokenizerData data;
  data.source = src;
  data.format = TokenizerFormat::kHuggingFace;
  // Always the tekken pattern: Mistral's converted tokenizer.json files carry a Llama-3 style
  // pattern that splits digits, contractions and CamelCase differently (docs/pixtral.md 6.5).
  data.pattern = std::string(kTekkenPattern);

  // Added tokens are the special ids 0..n-1, as in MistralConverter's output.
  Field added = top.at("added_tokens");
  const json& added_list = added.array();
  FS_CHECK(added_list.size() <= static_cast<std::size_t>(kMaxSpecial), kUnsupported,
           added.where() << " has " << added_list.size() << " entries; too many");
  const std::size_t n_special = added_list.size();
  data.specials.assign(n_special, std::string());
  std::vector<bool> seen_special(n_special, false);
  for (std::size_t i = 0; i < n_special; ++i) {
    Field e = added.index(i);
    e.object();
    const std::int64_t id = e.at("id").integer(0, kMaxVocab);
    FS_CHECK(id < static_cast<std::int64_t>(n_special), kUnsupported,
             e.where() << ".id = " << id << ": added tokens must have the ids 0.." << n_special - 1
                       << " (the special tokens of a tekken vocabulary)");
    FS_CHECK(!seen_special[static_cast<std::size_t>(id)], kMalformedModel,
             e.where() << ".id = " << id << " is used by two added tokens");
    seen_special[static_cast<std::size_t>(id)] = true;
    const std::string& content = e.at("content").string();
    FS_CHECK(!content.empty(), kMalformedModel, e.where() << ".content is empty");
    data.specials[static_cast<std::size_t>(id)] = content;
  }
  data.num_special = static_cast<int>(n_special);

  // model.vocab: byte-level keys -> ids; rank = id - n_special (the vocabulary is in rank
  // order, docs/pixtral.md 6.5). The special tokens may appear here too, with their own ids.
  Field vocab = model.at("vocab");
  const json& map = vocab.object();
  std::vector<const std::string*> key_of_rank;
  std::string bytes;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // The path string is built only for messages (130k entries in a real file).
    auto e = [&] { return Field{it.value(), src, "model.vocab[" + shown(it.key()) + "]"}; };
    const json& value = it.value();
    const std::int64_t id = value.is_number_unsigned() && value.get<std::uint64_t>() <= kMaxVocab
                                ? static_cast<std::int64_t>(value.get<std::uint64_t>())
                                : e().integer(0, kMaxVocab);
    if (id < static_cast<std::int64_t>(n_special)) {
      FS_CHECK(it.key() == data.specials[static_cast<std::size_t>(id)], kMalformedModel,
               e().where() << " has id " << id << ", which belongs to the added token "
                           << shown(data.specials[static_cast<std::size_t>(id)]));
      continue;
    }
    const auto rank = static_cast<std::size_t>(id) - n_special;
    // A rank past the number of entries leaves a hole somewhere: reject before allocating.
    FS_CHECK(rank < map.size(), kMalformedModel,
             e().where() << " has id " << id << ", but there are only " << map.size()
                         << " vocabulary entries (ids must be contiguous)");
    if (rank >= data.ranks.size()) {
      data.ranks.resize(rank + 1);
      key_of_rank.resize(rank + 1, nullptr);
    }
    FS_CHECK(key_of_rank[rank] == nullptr, kMalformedModel,
             e().where() << " and model.vocab[" << shown(*key_of_rank[rank])
                         << "] have the same id " << id);
    FS_CHECK(byte_level_to_bytes(it.key(), bytes), kMalformedModel,
             e().where() << ": not a byte-level BPE token (characters outside GPT-2's "
                            "bytes_to_unicode map)");
    data.ranks[rank] = bytes;
    key_of_rank[rank] = &it.key();
  }
  for (std::size_t r = 0; r < key_of_rank.size(); ++r) {
    FS_CHECK(key_of_rank[r] != nullptr, kMalformedModel,
             src << ": model.vocab has no token with id " << r + n_special
                 << " (ids must be contiguous from " << n_special << ")");
  }
  data.field_of_rank = [keys = std::move(key_of_rank), n_special](int r) {
    const auto i = static_cast<std::size_t>(r);
    std::string key = i < keys.size() && keys[i] ? shown(*keys[i]) : "?";
    return "model.vocab[" + key + "] (id " + std::to_string(i + n_special) + ")";
  };

  // Merges: checked for consistency with the vocabulary. Encoding follows the tekken ranks
  // (tiktoken semantics), which equals the merge list's order when every merge produces a
  // token and the list is sorted by the rank of that token, as MistralConverter writes it.
  Field merges = model.at("merges");
  const json& merge_list = merges.array();
  std::int64_t last_rank = -1;
  for (std::size_t i = 0; i < merge_list.size(); ++i) {
    Field m = merges.index(i);
    std::string left, right;
    if (m.j.is_string()) {
      const std::string& s = m.j.get_ref<const std::string&>();
      const auto space = s.find(' ');
      FS_CHECK(space != std::string::npos && space > 0 && space + 1 < s.size() &&
                   s.find(' ', space + 1) == std::string::npos,
               kMalformedModel, m.where() << " = " << shown(s) << " is not \"left right\"");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else {
      FS_CHECK(m.j.is_array() && m.j.size() == 2, kMalformedModel,
               m.where() << " must be a string \"left right\" or an array [left, right] (found "
                         << type_of(m.j) << ")");
      left = m.index(0).string();
      right = m.index(1).string();
    }
    auto id_of = [&](const std::string& key) -> std::int64_t {
      auto it = map.find(key);
      FS_CHECK(it != map.end(), kMalformedModel,
               m.where() << ": " << shown(key) << " is not in model.vocab");
      const std::int64_t id = it->get<std::int64_t>();
      FS_CHECK(id >= static_cast<std::int64_t>(n_special), kMalformedModel,
               m.where() << ": " << shown(key) << " is a special token");
      return id;
    };
    id_of(left);
    id_of(right);
    const std::int64_t merged = id_of(left + right);
    FS_CHECK(merged >= last_rank, kUnsupported,
             m.where() << ": merges are not sorted by the id of the merged token (id " << merged
                       << " after " << last_rank
                       << "); not a tekken-derived tokenizer.json, which framescribe encodes by "
                          "token rank");
    last_rank = merged;
  }
  if (top.has("pre_tokenizer")) {
    FS_LOG_DEBUG(src << ": ignoring the pre_tokenizer pattern of the file; using the tekken "
                        "pattern (docs/pixtral.md 6.5)");
  }
  return make_tokenizer(std::move(data));
}

}  // namespace

Tokenizer Tokenizer::from_tekken_json(std::string_view text, std::string_view source) {
  const std::string src(source);
  return read_tekken(parse_json(text, src), src);
}

Tokenizer Tokenizer::from_hf_json(std::string_view text, std::string_view source) {
  const std::string src(source);
  return read_hf(parse_json(text, src), src);
}

Tokenizer Tokenizer::from_json(std::string_view text, std::string_view source) {
  const std::string src(source);
  const json root = parse_json(text, src);
  FS_CHECK(root.is_object(), kMalformedModel,
           src << ": a tokenizer file must be a JSON object (found " << type_of(root) << ")");
  if (root.contains("model")) return read_hf(root, src);
  FS_CHECK(root.contains("config") || root.contains("vocab"), kMalformedModel,
           src << ": neither a tekken.json (config, vocab) nor a Hugging Face tokenizer.json "
                  "(model); is this a tokenizer file?");
  return read_tekken(root, src);
}

Tokenizer Tokenizer::load(const fs::path& path) {
  const std::string src = path.string();
  std::error_code ec;
  FS_CHECK(fs::exists(path, ec), kNotFound, src << ": no such tokenizer file");
  FS_CHECK(fs::is_regular_file(path, ec), kIo, src << ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in, kIo, src << ": cannot open for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  FS_CHECK(!in.bad(), kIo, src << ": read error");
  const std::string text = buf.str();
  return from_json(text, src);
}

fs::path find_tokenizer(const fs::path& model_dir) {
  std::error_code ec;
  FS_CHECK(fs::is_directory(model_dir, ec), kNotFound,
           model_dir.string() << ": not a directory (expected a model folder)");
  for (const char* name : {"tekken.json", "tokenizer.json"}) {
    fs::path p = model_dir / name;
    if (fs::is_regular_file(p, ec)) return p;
  }
  FS_FAIL(kNotFound, model_dir.string()
                         << ": no tekken.json or tokenizer.json; Pixtral checkpoints ship one "
                            "(mistralai/Pixtral-12B-2409: tekken.json, mistral-community/"
                            "pixtral-12b: tokenizer.json)");
}

}  // namespace framescribe::inference
