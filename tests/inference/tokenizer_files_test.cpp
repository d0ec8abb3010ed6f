// Malformed tekken.json and tokenizer.json files: each one is an Error naming the file and the
// field, never a crash (this suite also runs under ASan/UBSan).
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/tokenizer.h"
#include "inference/test_files.h"
#include "inference/tokenizer_test_support.h"

namespace {

namespace fst = framescribe::testing;
using framescribe::Error;
using framescribe::ErrorCode;
using nlohmann::json;
using namespace framescribe::inference;

fst::TestVocab small_vocab() {
  fst::TestVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.emplace_back(1, static_cast<char>(b));
  for (const char* t : {"ab", "bc", "abc", " t", "he"}) v.tokens.emplace_back(t);
  v.num_special = 1000;
  return v;
}

struct Case {
  const char* name;
  std::function<std::string()> content;  // the whole file
  ErrorCode code;
  std::vector<std::string> parts;  // each must appear in the message
};

std::function<std::string()> tekken_with(std::function<void(json&)> edit) {
  return [edit] {
    json j = fst::tekken_json(small_vocab(), kTekkenPattern);
    edit(j);
    return j.dump();
  };
}

std::function<std::string()> hf_with(std::function<void(json&)> edit) {
  return [edit] {
    json j = fst::hf_json(small_vocab(), false);
    edit(j);
    return j.dump();
  };
}

std::function<std::string()> text(std::string s) {
  return [s] { return s; };
}

const ErrorCode kBad = ErrorCode::kMalformedModel;

std::vector<Case> cases() {
  return {
      {"empty file", text(""), kBad, {"empty file"}},
      {"not JSON", text("tokenizer, please"), kBad, {"not valid JSON"}},
      {"truncated JSON",
       [] { return fst::tekken_json(small_vocab(), "x").dump().substr(0, 500); },
       kBad,
       {"not valid JSON"}},
      {"top level array", text("[1, 2]"), kBad, {"must be a JSON object"}},
      {"neither format", text(R"({"hello": 1})"), kBad, {"neither a tekken.json"}},
      // tekken.json
      {"missing config",
       tekken_with([](json& j) { j.erase("config"); }),
       kBad,
       {"config is missing"}},
      {"missing pattern",
       tekken_with([](json& j) { j["config"].erase("pattern"); }),
       kBad,
       {"config.pattern is missing"}},
      {"missing vocab size",
       tekken_with([](json& j) { j["config"].erase("default_vocab_size"); }),
       kBad,
       {"config.default_vocab_size is missing"}},
      {"missing special count",
       tekken_with([](json& j) { j["config"].erase("default_num_special_tokens"); }),
       kBad,
       {"config.default_num_special_tokens is missing"}},
      {"missing vocab", tekken_with([](json& j) { j.erase("vocab"); }), kBad, {"vocab is missing"}},
      {"missing rank",
       tekken_with([](json& j) { j["vocab"][7].erase("rank"); }),
       kBad,
       {"vocab[7].rank is missing"}},
      {"missing token_bytes",
       tekken_with([](json& j) { j["vocab"][258].erase("token_bytes"); }),
       kBad,
       {"vocab[258].token_bytes is missing"}},
      {"config not an object",
       tekken_with([](json& j) { j["config"] = "v3"; }),
       kBad,
       {"config must be an object (found string)"}},
      {"pattern not a string",
       tekken_with([](json& j) { j["config"]["pattern"] = 5; }),
       kBad,
       {"config.pattern must be a string (found number)"}},
      {"vocab not an array",
       tekken_with([](json& j) { j["vocab"] = json::object(); }),
       kBad,
       {"vocab must be an array (found object)"}},
      {"entry not an object",
       tekken_with([](json& j) { j["vocab"][3] = 3; }),
       kBad,
       {"vocab[3] must be an object (found number)"}},
      {"rank is a string",
       tekken_with([](json& j) { j["vocab"][3]["rank"] = "3"; }),
       kBad,
       {"vocab[3].rank must be an integer (found string)"}},
      {"rank is a float",
       tekken_with([](json& j) { j["vocab"][3]["rank"] = 3.0; }),
       kBad,
       {"vocab[3].rank must be an integer"}},
      {"negative rank",
       tekken_with([](json& j) { j["vocab"][3]["rank"] = -3; }),
       kBad,
       {"vocab[3].rank", "out of range"}},
      {"vocab size is a string",
       tekken_with([](json& j) { j["config"]["default_vocab_size"] = "1261"; }),
       kBad,
       {"config.default_vocab_size must be an integer (found string)"}},
      {"token_bytes not a string",
       tekken_with([](json& j) { j["vocab"][258]["token_bytes"] = 1; }),
       kBad,
       {"vocab[258].token_bytes must be a string"}},
      {"bad base64 character",
       tekken_with([](json& j) { j["vocab"][258]["token_bytes"] = "Y!I="; }),
       kBad,
       {"vocab[258].token_bytes: invalid base64", "'!'"}},
      {"bad base64 length",
       tekken_with([](json& j) { j["vocab"][258]["token_bytes"] = "YWJ"; }),
       kBad,
       {"vocab[258].token_bytes: invalid base64", "multiple of 4"}},
      {"bad base64 padding",
       tekken_with([](json& j) { j["vocab"][258]["token_bytes"] = "Y=Jj"; }),
       kBad,
       {"vocab[258].token_bytes: invalid base64"}},
      {"empty token",
       tekken_with([](json& j) { j["vocab"][258]["token_bytes"] = ""; }),
       kBad,
       {"vocab[258].token_bytes: empty token"}},
      {"ranks out of order",
       tekken_with([](json& j) { std::swap(j["vocab"][257], j["vocab"][258]); }),
       kBad,
       {"vocab[257].rank is 258, expected 257"}},
      {"duplicate token",
       tekken_with(
           [](json& j) { j["vocab"][259]["token_bytes"] = j["vocab"][256]["token_bytes"]; }),
       kBad,
       {"vocab[259].token_bytes: duplicate token", "vocab[256].token_bytes"}},
      {"byte rank holds two bytes",
       tekken_with([](json& j) { j["vocab"][65]["token_bytes"] = fst::base64_encode("AB"); }),
       kBad,
       {"vocab[65].token_bytes", "single byte 0x41"}},
      {"bytes in the wrong order",
       tekken_with([](json& j) {
         std::swap(j["vocab"][65]["token_bytes"], j["vocab"][66]["token_bytes"]);
       }),
       kBad,
       {"vocab[65].token_bytes", "single byte 0x41"}},
      {"vocabulary smaller than the bytes",
       tekken_with([](json& j) { j["config"]["default_vocab_size"] = 1000 + 200; }),
       kBad,
       {"config.default_vocab_size", "fewer than the 256 single bytes"}},
      {"vocab shorter than its size",
       tekken_with([](json& j) { j["config"]["default_vocab_size"] = 1000 + 300; }),
       kBad,
       {"vocab has 261 entries, fewer than", "= 300"}},
      {"special_tokens not an array",
       tekken_with([](json& j) { j["special_tokens"] = "<s>"; }),
       kBad,
       {"special_tokens must be an array (found string)"}},
      {"special rank out of order",
       tekken_with([](json& j) {
         j["special_tokens"] =
             json::array({{{"rank", 1}, {"token_str", "<s>"}, {"is_control", true}}});
       }),
       kBad,
       {"special_tokens[0].rank is 1, expected 0"}},
      {"special name missing",
       tekken_with([](json& j) {
         j["special_tokens"] = json::array({{{"rank", 0}, {"is_control", true}}});
       }),
       kBad,
       {"special_tokens[0].token_str is missing"}},
      {"special name twice",
       tekken_with([](json& j) {
         j["special_tokens"] =
             json::array({{{"rank", 0}, {"token_str", "<s>"}, {"is_control", true}},
                          {{"rank", 1}, {"token_str", "<s>"}, {"is_control", true}}});
       }),
       kBad,
       {"special token \"<s>\" is defined twice"}},
      {"is_control not a boolean",
       tekken_with([](json& j) {
         j["special_tokens"] =
             json::array({{{"rank", 0}, {"token_str", "<s>"}, {"is_control", 1}}});
       }),
       kBad,
       {"special_tokens[0].is_control must be a boolean"}},
      {"more specials than the count",
       tekken_with([](json& j) {
         j["config"]["default_num_special_tokens"] = 1;
         j["config"]["default_vocab_size"] = 1 + 261;
         j["special_tokens"] = json::array(
             {{{"rank", 0}, {"token_str", "<s>"}}, {{"rank", 1}, {"token_str", "</s>"}}});
       }),
       kBad,
       {"special_tokens has 2 entries, more than config.default_num_special_tokens = 1"}},
      {"too few specials for the default list",
       tekken_with([](json& j) {
         j["config"]["default_num_special_tokens"] = 5;
         j["config"]["default_vocab_size"] = 5 + 261;
       }),
       kBad,
       {"no special_tokens list", "smaller than the 20"}},
      {"pattern does not compile",
       tekken_with([](json& j) { j["config"]["pattern"] = "(\\p{L"; }),
       kBad,
       {"pattern does not compile"}},
      {"absurd special count",
       tekken_with([](json& j) { j["config"]["default_num_special_tokens"] = 1ll << 40; }),
       kBad,
       {"config.default_num_special_tokens", "out of range"}},
      // tokenizer.json
      {"hf missing model",
       hf_with([](json& j) { j.erase("model"); }),
       kBad,
       {"neither a tekken.json"}},
      {"hf model not an object",
       hf_with([](json& j) { j["model"] = json::array(); }),
       kBad,
       {"model must be an object (found array)"}},
      {"hf missing vocab",
       hf_with([](json& j) { j["model"].erase("vocab"); }),
       kBad,
       {"model.vocab is missing"}},
      {"hf missing merges",
       hf_with([](json& j) { j["model"].erase("merges"); }),
       kBad,
       {"model.merges is missing"}},
      {"hf missing added_tokens",
       hf_with([](json& j) { j.erase("added_tokens"); }),
       kBad,
       {"added_tokens is missing"}},
      {"hf not BPE",
       hf_with([](json& j) { j["model"]["type"] = "Unigram"; }),
       ErrorCode::kUnsupported,
       {"model.type is \"Unigram\""}},
      {"hf id is a string",
       hf_with([](json& j) { j["model"]["vocab"]["ab"] = "1256"; }),
       kBad,
       {"model.vocab[\"ab\"] must be an integer (found string)"}},
      {"hf gap in ids",
       hf_with([](json& j) { j["model"]["vocab"].erase("ab"); }),
       kBad,
       {"model.vocab has no token with id 1256"}},
      {"hf two keys one id",
       hf_with([](json& j) { j["model"]["vocab"]["ab"] = 1257; }),
       kBad,
       {"have the same id 1257"}},
      {"hf id past the end",
       hf_with([](json& j) { j["model"]["vocab"]["ab"] = 99999999; }),
       kBad,
       {"model.vocab[\"ab\"] has id 99999999", "contiguous"}},
      {"hf not byte-level",
       hf_with([](json& j) {
         j["model"]["vocab"].erase("ab");
         j["model"]["vocab"]["\xe4\xb8\xad"] = 1256;
       }),
       kBad,
       {"not a byte-level BPE token"}},
      {"hf special id with another name",
       hf_with([](json& j) { j["model"]["vocab"]["<s>"] = 3; }),
       kBad,
       {"model.vocab[\"<s>\"] has id 3", "[INST]"}},
      {"hf added token past the specials",
       hf_with([](json& j) { j["added_tokens"][5]["id"] = 5000; }),
       ErrorCode::kUnsupported,
       {"added_tokens[5].id = 5000"}},
      {"hf added token id twice",
       hf_with([](json& j) { j["added_tokens"][5]["id"] = 4; }),
       kBad,
       {"added_tokens[5].id = 4 is used by two added tokens"}},
      {"hf merge of unknown tokens",
       hf_with([](json& j) { j["model"]["merges"][0] = "q z"; }),
       kBad,
       {"model.merges[0]", "\"qz\" is not in model.vocab"}},
      {"hf merge without a space",
       hf_with([](json& j) { j["model"]["merges"][0] = "ab"; }),
       kBad,
       {"model.merges[0] = \"ab\" is not \"left right\""}},
      {"hf merge of the wrong type",
       hf_with([](json& j) { j["model"]["merges"][0] = 7; }),
       kBad,
       {"model.merges[0] must be a string \"left right\" or an array"}},
      {"hf merges out of order",
       hf_with([](json& j) { std::swap(j["model"]["merges"][0], j["model"]["merges"].back()); }),
       ErrorCode::kUnsupported,
       {"not sorted by the id of the merged token"}},
      {"hf vocabulary smaller than the bytes",
       hf_with([](json& j) {
         json& vocab = j["model"]["vocab"];
         for (auto it = vocab.begin(); it != vocab.end();) {
           it = it.value().get<int>() >= 1200 ? vocab.erase(it) : std::next(it);
         }
         j["model"]["merges"] = json::array();
       }),
       kBad,
       {"fewer than the 256 single bytes"}},
  };
}

TEST(TokenizerFiles, MalformedFilesAreClearErrors) {
  fst::TempDir dir;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto path = dir / "bad-tokenizer.json";
    fst::write_text(path, c.content());
    try {
      Tokenizer::load(path);
      ADD_FAILURE() << c.name << ": loaded without an error";
      continue;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(e.code(), c.code) << framescribe::to_string(e.code()) << ": " << msg;
      EXPECT_NE(msg.find(path.string()), std::string::npos) << "file not named: " << msg;
      for (const std::string& part : c.parts) {
        EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
      }
    }
  }
}

TEST(TokenizerFiles, ValidVariantsLoad) {
  // Entries past default_vocab_size - num_special are cut off unread, as in mistral-common.
  json junk = {{"rank", 9999}, {"token_bytes", "not base64!"}, {"token_str", nullptr}};
  const Tokenizer t = Tokenizer::from_tekken_json(
      fst::tekken_json(small_vocab(), kTekkenPattern, {junk, junk}).dump(), "cut/tekken.json");
  EXPECT_EQ(t.vocab_size(), 1000 + 261);
  EXPECT_EQ(t.encode("abc"), (std::vector<int>{1258}));
  // A smaller default_vocab_size cuts real tokens too.
  json j = fst::tekken_json(small_vocab(), kTekkenPattern);
  j["config"]["default_vocab_size"] = 1000 + 258;
  const Tokenizer cut = Tokenizer::from_tekken_json(j.dump(), "cut2/tekken.json");
  EXPECT_EQ(cut.vocab_size(), 1258);
  EXPECT_EQ(cut.encode("abc"), (std::vector<int>{1256, 1099}));  // only "ab" is left
  // Merges written as arrays, and a tokenizer.json whose vocab omits the specials.
  json hf = fst::hf_json(small_vocab(), true);
  for (int i = 0; i < 1000; ++i)
    hf["model"]["vocab"].erase(hf["added_tokens"][i]["content"].get<std::string>());
  EXPECT_EQ(Tokenizer::from_hf_json(hf.dump(), "hf.json").encode("abc the"), t.encode("abc the"));
  // token_str may be a string, null or absent; base64 of every length works.
  json k = fst::tekken_json(small_vocab(), kTekkenPattern);
  k["vocab"][258]["token_str"] = "abc";
  k["vocab"][257].erase("token_str");
  EXPECT_NO_THROW(Tokenizer::from_tekken_json(k.dump(), "k.json"));
}

TEST(TokenizerFiles, RandomCorruptionsNeverCrash) {
  const std::string good = fst::tekken_json(small_vocab(), kTekkenPattern).dump();
  std::mt19937 rng(3);
  int loaded = 0;
  for (int i = 0; i < 300; ++i) {
    std::string s = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[at] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(at, rng() % 16);
          break;
        default:
          s.insert(at, std::string(1, "0\"[]{},:-eE"[rng() % 11]));
          break;
      }
    }
    try {
      (void)Tokenizer::from_json(s, "fuzzed.json");
      ++loaded;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fuzzed.json"), std::string::npos) << e.what();
    }
  }
  SUCCEED() << loaded << " of 300 corrupted files still loaded";
}

}  // namespace
