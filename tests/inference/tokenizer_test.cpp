// The tekken tokenizer: hand-worked BPE cases, both file formats giving the ids of an
// independent reference (tests/inference/tokenizer_test_support.*) on a multilingual corpus,
// round trips (corpus, 10,000 random UTF-8 strings, random bytes), streaming decoding and
// special-token handling.
#include "framescribe/inference/tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "framescribe/core/error.h"
#include "inference/test_files.h"
#include "inference/tokenizer_test_support.h"

namespace {

namespace fst = framescribe::testing;
using framescribe::Error;
using framescribe::ErrorCode;
using namespace framescribe::inference;

// Ranks 256.. of the hand-worked vocabulary; ids are 1000 + rank (1000 special tokens, no
// special_tokens list, so the deprecated names and <SPECIAL_20>.. as in Pixtral's file).
const std::vector<std::string> kHandTokens = {" B", "\n\n", "ab", "bc", "abc", "xyz", "aa", "12"};

fst::TestVocab hand_vocab() {
  fst::TestVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.emplace_back(1, static_cast<char>(b));
  for (const std::string& t : kHandTokens) v.tokens.push_back(t);
  v.num_special = 1000;
  return v;
}

const Tokenizer& hand_tekken() {
  static const Tokenizer tok = Tokenizer::from_tekken_json(
      fst::tekken_json(hand_vocab(), kTekkenPattern).dump(), "hand/tekken.json");
  return tok;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> c = {
      "Hello world",
      "Describe the image.",
      "[INST] SYSTEM\n\na [/INST]",
      "[INST]",
      "[/INST][IMG][IMG_BREAK][IMG_END]</s><s>",
      "日本語のテキストです。中文字符测试、コーヒー",
      "한국어 텍스트 입니다",
      "I \u2764\ufe0f \U0001F355 and \U0001F469\u200d\U0001F469\u200d\U0001F467 family "
      "\U0001F44D\U0001F3FD \U0001F1EB\U0001F1F7",
      "e\u0301cole\u0300 Zo\u00eb na\u00efve \u00f1 n\u0303 \u01c5emal \u01c4 \u02b0\u02b0",
      "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
      "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 "
      "\u0661\u0662\u0663",
      "\u200fmixed \u05e2\u05d1\u05e8\u05d9\u05ea and English\u200e",
      "1234567890 3.14159 1,000,000 2024-06-01",
      "\uff10\uff11\uff12 \u216b \u00bd \u00b2",
      "a    b",
      "   leading",
      "trailing   ",
      "  \t\t tabs\tand  spaces",
      "line1\r\nline2\r\n\r\nline3",
      "\n\n\n",
      " \n \n",
      "x\u00a0y\u3000z\u2003w",
      "\t\n\x0b\x0c\r",
      "CamelCaseWordsHTTPServer getHTTPResponseCode",
      "don't I'll we've",
      "path/to/file.txt\n/usr/bin//\n",
      "snake_case-kebab--case",
      "Hello, WORLD! \u00bfQu\u00e9 tal? \u00c7a va.",
      "\u041f\u0440\u0438\u0432\u0435\u0442, \u041c\u0418\u0420",
      "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
      "for (int i = 0; i < 10; ++i) {\n    x += i;\n}\n",
      "\uff21\uff22\uff43 \u20ac100 \u2192 \u2026",
      "",
  };
  return c;
}

// The trained vocabulary: 256 bytes + merges learned from the corpus and some English, with
// its own special tokens (so ids differ from Pixtral's).
fst::TestVocab trained_vocab() {
  std::vector<std::string> training = corpus();
  training.push_back(
      "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away. "
      "A video frame shows a person walking a dog in the park, then the person sits down.");
  training.push_back("日本語 日本 中文 中文字符 テキスト テキスト コーヒー コーヒー");
  fst::TestVocab v;
  v.tokens = fst::train_bpe(training, 300);
  v.num_special = 16;
  v.specials = {"<unk>", "<s>",         "</s>",      "[INST]", "[/INST]",
                "[IMG]", "[IMG_BREAK]", "[IMG_END]", "<pad>"};
  return v;
}

struct Trained {
  fst::TestVocab vocab = trained_vocab();
  std::map<std::string, int> ranks = vocab.rank_map();
  Tokenizer tekken = Tokenizer::from_tekken_json(fst::tekken_json(vocab, kTekkenPattern).dump(),
                                                 "trained/tekken.json");
  Tokenizer hf =
      Tokenizer::from_hf_json(fst::hf_json(vocab, false).dump(), "trained/tokenizer.json");
  Tokenizer hf_arrays =
      Tokenizer::from_hf_json(fst::hf_json(vocab, true).dump(), "trained/tokenizer-arrays.json");
};

const Trained& trained() {
  static const Trained t;
  return t;
}

std::vector<int> ids(std::initializer_list<int> v) {
  return v;
}

TEST(Tokenizer, HandWorkedMerges) {
  const Tokenizer& tok = hand_tekken();
  EXPECT_EQ(tok.num_special(), 1000);
  EXPECT_EQ(tok.vocab_size(), 1000 + 256 + static_cast<int>(kHandTokens.size()));
  EXPECT_EQ(tok.encode("a"), ids({1097}));
  EXPECT_EQ(tok.encode("A"), ids({1065}));
  EXPECT_EQ(tok.encode("C"), ids({1067}));
  EXPECT_EQ(tok.encode(" B"), ids({1256}));
  EXPECT_EQ(tok.encode("\n\n"), ids({1257}));
  // A whole piece that is a token is taken as it is.
  EXPECT_EQ(tok.encode("abc"), ids({1260}));
  // "abcd": ab (258) beats bc (259); then ab+c = abc (260); abc+d is no token.
  EXPECT_EQ(tok.encode("abcd"), ids({1260, 1100}));
  // "bcab": ab (258) at the right beats bc (259) at the left; bc+ab is no token.
  EXPECT_EQ(tok.encode("bcab"), ids({1259, 1258}));
  // Ties go to the leftmost pair.
  EXPECT_EQ(tok.encode("aaa"), ids({1262, 1097}));
  // "xyz" is reachable only as a whole piece (neither "xy" nor "yz" is a token).
  EXPECT_EQ(tok.encode("xyz"), ids({1261}));
  EXPECT_EQ(tok.encode("xyzw"), ids({1120, 1121, 1122, 1119}));
  // Digits are split one by one, so the token "12" never appears.
  EXPECT_EQ(tok.encode("123"), ids({1049, 1050, 1051}));
  // Words split at case changes and before a space: "A", " B" ...
  EXPECT_EQ(tok.encode("A B"), ids({1065, 1256}));
  EXPECT_EQ(tok.encode(""), ids({}));
}

TEST(Tokenizer, ControlTokenTextIsOrdinaryText) {
  const Tokenizer& tok = hand_tekken();
  // "[INST" + "]": bytes, never the special id 3.
  EXPECT_EQ(tok.encode("[INST]"), ids({1091, 1073, 1078, 1083, 1084, 1093}));
  for (const char* s : {"<s>", "</s>", "[IMG]", "[/INST]", "<SPECIAL_20>", "<unk>"}) {
    for (int id : tok.encode(s)) EXPECT_GE(id, tok.num_special()) << s;
  }
  for (const std::string& s : corpus()) {
    for (int id : trained().tekken.encode(s)) EXPECT_GE(id, trained().tekken.num_special()) << s;
  }
}

TEST(Tokenizer, SpecialIdsComeFromTheFile) {
  const Tokenizer& tok = hand_tekken();  // the deprecated list: Pixtral-12B's ids
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.inst(), 3);
  EXPECT_EQ(tok.inst_end(), 4);
  EXPECT_EQ(tok.img(), 10);
  EXPECT_EQ(tok.img_break(), 12);
  EXPECT_EQ(tok.img_end(), 13);
  EXPECT_EQ(tok.special_id("[SYSTEM_PROMPT]"), 17);
  EXPECT_EQ(tok.special_id("<SPECIAL_20>"), 20);
  EXPECT_EQ(tok.special_id("<SPECIAL_999>"), 999);
  EXPECT_FALSE(tok.find_special("<SPECIAL_1000>"));
  EXPECT_FALSE(tok.find_special("<SPECIAL_05>"));
  EXPECT_FALSE(tok.find_special("a"));
  EXPECT_EQ(tok.special_token(25), "<SPECIAL_25>");
  EXPECT_EQ(tok.special_token(12), "[IMG_BREAK]");
  try {
    tok.special_id("[THINK]");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("hand/tekken.json"), std::string::npos) << e.what();
  }
  // The trained files define their own list: other ids, fillers up to 16.
  for (const Tokenizer* t : {&trained().tekken, &trained().hf}) {
    EXPECT_EQ(t->bos(), 1);
    EXPECT_EQ(t->img(), 5);
    EXPECT_EQ(t->img_break(), 6);
    EXPECT_EQ(t->img_end(), 7);
    EXPECT_EQ(t->special_id("<SPECIAL_15>"), 15);
    EXPECT_EQ(t->num_special(), 16);
  }
}

TEST(Tokenizer, DecodePolicies) {
  const Tokenizer& tok = hand_tekken();
  const std::vector<int> v = {1, 3, 1097, 4, 999};
  EXPECT_EQ(tok.decode(v), "a");
  EXPECT_EQ(tok.decode(v, SpecialTokenPolicy::kKeep), "<s>[INST]a[/INST]<SPECIAL_999>");
  EXPECT_THROW(tok.decode(v, SpecialTokenPolicy::kRaise), Error);
  EXPECT_EQ(tok.decode(ids({1097, 1256}), SpecialTokenPolicy::kRaise), "a B");
  for (int bad : {-1, tok.vocab_size(), 1 << 30}) {
    try {
      tok.decode(ids({bad}));
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(tok.token_bytes(1260), "abc");
}

// mistral-common's decode test, in this vocabulary's ids: the bracketed words are text.
TEST(Tokenizer, DecodesControlLookingText) {
  const Tokenizer& tok = hand_tekken();
  const std::string text = "[INST] SYSTEM\n\na [/INST]";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.decode(tok.encode(text), SpecialTokenPolicy::kRaise), text);
}

TEST(Tokenizer, BothFormatsMatchTheReferenceOnTheCorpus) {
  const Trained& t = trained();
  ASSERT_GT(t.vocab.tokens.size(), 350u) << "the trainer learned too little";
  EXPECT_EQ(t.tekken.format(), TokenizerFormat::kTekken);
  EXPECT_EQ(t.hf.format(), TokenizerFormat::kHuggingFace);
  EXPECT_EQ(t.tekken.vocab_size(), t.hf.vocab_size());
  int multi_token_pieces = 0;
  for (const std::string& s : corpus()) {
    const std::vector<int> expected = fst::reference_encode(s, t.ranks, 16);
    EXPECT_EQ(t.tekken.encode(s), expected) << s;
    EXPECT_EQ(t.hf.encode(s), expected) << s;
    EXPECT_EQ(t.hf_arrays.encode(s), expected) << s;
    multi_token_pieces += static_cast<int>(expected.size() < s.size());
  }
  EXPECT_GT(multi_token_pieces, 20) << "merges should shorten most corpus strings";
}

TEST(Tokenizer, LongPiecesMatchTheReference) {
  const Trained& t = trained();
  std::string word, spaces, mixed;
  for (int i = 0; i < 200; ++i) word += "the";
  for (int i = 0; i < 500; ++i) spaces += ' ';
  for (int i = 0; i < 40; ++i) mixed += "日本語のテキスト";
  for (const std::string& s : {word, spaces + "x", spaces, mixed, "\n" + spaces + "\n"}) {
    EXPECT_EQ(t.tekken.encode(s), fst::reference_encode(s, t.ranks, 16)) << s.substr(0, 20);
  }
  // Every piece length around the switch from the small-piece scan to the heap (48 bytes).
  for (std::size_t n = 1; n <= 100; ++n) {
    const std::string letters = (word + word).substr(n % 3, n);
    const std::string cjk = mixed.substr(0, n * 3);
    for (const std::string& s : {letters, cjk, spaces.substr(0, n) + "x"}) {
      EXPECT_EQ(t.tekken.encode(s), fst::reference_encode(s, t.ranks, 16)) << n;
    }
  }
}

TEST(Tokenizer, RoundTripsTheCorpus) {
  const Trained& t = trained();
  for (const Tokenizer* tok : {&t.tekken, &t.hf, &hand_tekken()}) {
    for (const std::string& s : corpus()) EXPECT_EQ(tok->decode(tok->encode(s)), s);
  }
}

std::string stream_decode(const Tokenizer& tok, const std::vector<int>& v, bool* half_char) {
  StreamingDecoder dec(tok);
  std::string out;
  for (int id : v) {
    std::string part = dec.push(id);
    // Every emitted part is whole characters of valid UTF-8 input.
    if (utf8_complete_prefix(part) != part.size()) *half_char = true;
    out += part;
  }
  out += dec.flush();
  return out;
}

// Random strings over ASCII, Latin-1, combining marks, CJK, emoji and the rest of the planes
// (no surrogates).
std::string random_utf8(std::mt19937& rng) {
  std::uniform_int_distribution<int> len(0, 40);
  std::uniform_int_distribution<int> kind(0, 9);
  std::string s;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    char32_t cp = 0;
    switch (kind(rng)) {
      case 0:
        cp = std::uniform_int_distribution<char32_t>(0, 0x7F)(rng);
        break;
      case 1:
        cp = U" \t\n\r"[std::uniform_int_distribution<int>(0, 3)(rng)];
        break;
      case 2:
        cp = std::uniform_int_distribution<char32_t>(0x80, 0x7FF)(rng);
        break;
      case 3:
        cp = std::uniform_int_distribution<char32_t>(0x300, 0x36F)(rng);
        break;
      case 4:
        cp = std::uniform_int_distribution<char32_t>(0x4E00, 0x9FFF)(rng);
        break;
      case 5:
        cp = std::uniform_int_distribution<char32_t>(0x1F300, 0x1F9FF)(rng);
        break;
      case 6:
        cp = std::uniform_int_distribution<char32_t>(0xE000, 0xFFFF)(rng);
        break;
      case 7:
        cp = std::uniform_int_distribution<char32_t>(0x10000, 0x10FFFF)(rng);
        break;
      case 8:
        cp = std::uniform_int_distribution<char32_t>(0x800, 0xD7FF)(rng);
        break;
      default:
        cp = std::uniform_int_distribution<char32_t>('0', '9')(rng);
        break;
    }
    s += fst::utf8_encode(cp);
  }
  return s;
}

TEST(Tokenizer, RoundTripsRandomUtf8AndStreamsTheSameText) {
  const Trained& t = trained();
  std::mt19937 rng(20240911);
  for (int i = 0; i < 10000; ++i) {
    const std::string s = random_utf8(rng);
    const std::vector<int> v = t.tekken.encode(s);
    ASSERT_EQ(t.tekken.decode(v), s) << "string " << i;
    ASSERT_EQ(t.hf.encode(s), v) << "string " << i;
    bool half_char = false;
    ASSERT_EQ(stream_decode(t.tekken, v, &half_char), s) << "string " << i;
    ASSERT_FALSE(half_char) << "string " << i;
  }
}

TEST(Tokenizer, RoundTripsArbitraryBytes) {
  // Not UTF-8: runs the pattern cannot match become pieces of their own (see tokenizer.h).
  const Trained& t = trained();
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(std::uniform_int_distribution<int>(0, 64)(rng), '\0');
    for (char& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    if (i % 2) s = "ab " + s + " cd\xe4\xb8";  // mixed valid and invalid
    const std::vector<int> v = t.tekken.encode(s);
    ASSERT_EQ(t.tekken.decode(v), s) << i;
    bool half_char = false;
    ASSERT_EQ(stream_decode(t.tekken, v, &half_char), s) << i;
  }
  EXPECT_EQ(t.tekken.decode(t.tekken.encode(std::string("a\0b", 3))), std::string("a\0b", 3));
}

TEST(Tokenizer, LargeInputsRoundTrip) {
  const Trained& t = trained();
  std::string big;  // built below
  for (int i = 0; i < 5000; ++i) big += "The dog 日本語 12345\r\n\t ";
  const std::string spaces(1 << 17, ' ');
  const std::string letters(1 << 17, 'a');
  const std::string newlines(1 << 16, '\n');
  for (const std::string* s :
       std::initializer_list<const std::string*>{&big, &spaces, &letters, &newlines}) {
    EXPECT_EQ(t.tekken.decode(t.tekken.encode(*s)), *s);
  }
  EXPECT_EQ(t.tekken.encode(spaces + "x").size(), t.tekken.encode(spaces).size() + 1);
}

TEST(StreamingDecoder, HoldsBackIncompleteCharacters) {
  const Tokenizer& tok = hand_tekken();  // no multi-byte tokens: one id per byte
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.push(1000 + 0xE4), "");
  EXPECT_EQ(dec.push(1000 + 0xB8), "");
  EXPECT_EQ(dec.push(1), "");  // BOS, ignored: the character is still pending
  EXPECT_EQ(dec.push(1000 + 0xAD), "\xE4\xB8\xAD");
  EXPECT_EQ(dec.push(1097), "a");
  EXPECT_EQ(dec.push(1000 + 0xF0), "");
  EXPECT_EQ(dec.push(1000 + 0x9F), "");
  EXPECT_EQ(dec.flush(), "\xF0\x9F");  // the end of the stream releases what is left
  EXPECT_EQ(dec.flush(), "");
  // A byte that can never start a character goes out at once.
  EXPECT_EQ(dec.push(1000 + 0xFF), "\xFF");
  EXPECT_EQ(dec.push(1000 + 0xE4), "");
  EXPECT_EQ(dec.push(1097),
            "\xE4"
            "a");  // the pending byte can no longer complete
  StreamingDecoder keep(tok, SpecialTokenPolicy::kKeep);
  EXPECT_EQ(keep.push(1000 + 0xE4), "");
  EXPECT_EQ(keep.push(10), "\xE4[IMG]");
  StreamingDecoder raise(tok, SpecialTokenPolicy::kRaise);
  EXPECT_THROW(raise.push(2), Error);
}

TEST(StreamingDecoder, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xC3"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xC3\xA9"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xE4\xB8"), 1u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98"), 0u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98\x80"), 4u);
  EXPECT_EQ(utf8_complete_prefix("\xE0\x80"), 2u);  // overlong: never valid
  EXPECT_EQ(utf8_complete_prefix("\xED\xA0"), 2u);  // surrogate: never valid
  EXPECT_EQ(utf8_complete_prefix("\xF4\x90"), 2u);  // above U+10FFFF
  EXPECT_EQ(utf8_complete_prefix("\xC0"), 1u);      // never a lead byte
  EXPECT_EQ(utf8_complete_prefix("\x80\x80"), 2u);  // stray continuation bytes
  EXPECT_EQ(utf8_complete_prefix("\xE4\x41"), 2u);  // broken sequence
}

TEST(Tokenizer, HfFileUsesTheTekkenPatternNotItsOwn) {
  const Trained& t = trained();
  EXPECT_EQ(t.hf.pattern(), kTekkenPattern);
  // The Llama-3 pattern would keep "123" in one piece and "don't" in two.
  const Tokenizer hf = Tokenizer::from_hf_json(fst::hf_json(hand_vocab(), false).dump(), "h.json");
  EXPECT_EQ(hf.encode("123"), ids({1049, 1050, 1051}));
  EXPECT_EQ(hf.encode("abc xyz"), hand_tekken().encode("abc xyz"));
}

TEST(Tokenizer, TekkenFileKeepsItsOwnPattern) {
  // mistral-common splits with config.pattern; so does framescribe (with a warning).
  const Tokenizer tok = Tokenizer::from_tekken_json(
      fst::tekken_json(hand_vocab(), R"(\S+|\s+)").dump(), "custom/tekken.json");
  EXPECT_EQ(tok.pattern(), R"(\S+|\s+)");
  EXPECT_EQ(tok.encode("12"), ids({1263}));  // "12" is one piece here, and a token
}

TEST(Tokenizer, PatternsThatMatchEmptyStringsStillRoundTrip) {
  const Tokenizer tok = Tokenizer::from_tekken_json(
      fst::tekken_json(hand_vocab(), R"(a*|(?=b))").dump(), "empty/tekken.json");
  for (const std::string s : {"", "aab", "bbb", "xyz",
                              "a\xff"
                              "a",
                              "\xe4\xb8\xad"}) {
    EXPECT_EQ(tok.decode(tok.encode(s)), s);
  }
}

TEST(Tokenizer, CopiesShareTheVocabularyAndUseJit) {
  Tokenizer copy = trained().tekken;
  EXPECT_EQ(copy.encode("Hello world"), trained().tekken.encode("Hello world"));
  EXPECT_EQ(copy.version(), "v3");
  EXPECT_EQ(copy.source(), "trained/tekken.json");
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_TRUE(copy.uses_jit());
#endif
}

TEST(Tokenizer, LoadAndFindInAModelFolder) {
  fst::TempDir dir;
  EXPECT_THROW(find_tokenizer(dir.path()), Error);
  const std::string hf = fst::hf_json(hand_vocab(), false).dump();
  fst::write_text(dir / "tokenizer.json", hf);
  EXPECT_EQ(find_tokenizer(dir.path()), dir / "tokenizer.json");
  fst::write_text(dir / "tekken.json", fst::tekken_json(hand_vocab(), kTekkenPattern).dump());
  EXPECT_EQ(find_tokenizer(dir.path()), dir / "tekken.json");
  EXPECT_EQ(Tokenizer::load(dir / "tekken.json").format(), TokenizerFormat::kTekken);
  EXPECT_EQ(Tokenizer::load(dir / "tokenizer.json").format(), TokenizerFormat::kHuggingFace);
  EXPECT_EQ(Tokenizer::load(dir / "tokenizer.json").encode("abcd"), ids({1260, 1100}));
  try {
    Tokenizer::load(dir / "missing.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  try {
    find_tokenizer(dir / "nope");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

// mistral-common splits with tiktoken, i.e. Rust's regex crate: Unicode 16.0 properties, and
// `\s` is exactly White_Space. PCRE2 10.42 (Debian 12) has Unicode 14.0 tables and its `\s`
// also matched U+180E. Found by tests/crosscheck; the expected ids are worked out from the
// pattern by hand below (and agree with tiktoken 0.14). Vocabulary: the bytes, then
// "  " (1256), U+0085 twice (1257), "a\xF0" (1258), "\xB0\xF0" (1259).
const Tokenizer& unicode_tekken() {
  static const Tokenizer tok = [] {
    fst::TestVocab v = hand_vocab();
    v.tokens.resize(256);
    for (const char* t : {"  ", "\xC2\x85\xC2\x85", "a\xF0", "\xB0\xF0"}) v.tokens.push_back(t);
    return Tokenizer::from_tekken_json(fst::tekken_json(v, kTekkenPattern).dump(), "u/tekken.json");
  }();
  return tok;
}

TEST(TokenizerUnicode, MongolianVowelSeparatorIsNotWhitespace) {
  // U+180E (E1 A0 8E) is Cf, not White_Space: "  \u180E" is " " (\s+(?!\S) gives back the
  // space before a non-space) and " \u180E" ( ?[^\s\p{L}\p{N}]+), so "  " never merges.
  // With U+180E as a space it was one whitespace piece: {1256, 1225, 1160, 1142}.
  EXPECT_EQ(unicode_tekken().encode("  \u180E"), ids({1032, 1032, 1225, 1160, 1142}));
  EXPECT_EQ(unicode_tekken().encode("x \u180E\u180E y"),
            ids({1120, 1032, 1225, 1160, 1142, 1225, 1160, 1142, 1032, 1121}));
}

TEST(TokenizerUnicode, NextLineIsWhitespace) {
  // U+0085 (C2 85) is White_Space: "a\x85\x85b" is "a", "\x85" (\s+(?!\S)), "\x85b" (an
  // optional non-letter, then lower-case letters), so the token U+0085 U+0085 never applies.
  EXPECT_EQ(unicode_tekken().encode("a\u0085\u0085b"), ids({1097, 1194, 1133, 1194, 1133, 1098}));
}

TEST(TokenizerUnicode, LettersAndDigitsOfUnicode15And16) {
  // U+13460 (Egyptian hieroglyph, Lo since Unicode 16.0) and U+31350 (CJK extension H, Lo since
  // 15.0) are letters, so "a" joins them in one piece and "a\xF0" merges. Unicode 14 left them
  // unassigned: "a" alone, then the character's four bytes.
  EXPECT_EQ(unicode_tekken().encode("a\U00013460"), ids({1258, 1147, 1145, 1160}));
  EXPECT_EQ(unicode_tekken().encode("a\U00031350"), ids({1258, 1177, 1141, 1144}));
  // U+1E4F0 and U+1E4F1 (Nag Mundari digits, Nd since 15.0): \p{N} takes one digit per piece,
  // so "\xB0\xF0" across the two never merges; as unassigned characters they were one piece.
  EXPECT_EQ(unicode_tekken().encode("\U0001E4F0\U0001E4F1"),
            ids({1240, 1158, 1147, 1176, 1240, 1158, 1147, 1177}));
}

}  // namespace
