// Pixtral's tekken tokenizer (byte-level BPE with tiktoken semantics), read from either of the
// two files a checkpoint ships: Mistral's `tekken.json` or the Hugging Face `tokenizer.json` of
// the same vocabulary (docs/pixtral.md sections 3.2 and 6).
//
//   using namespace framescribe::inference;
//   Tokenizer tok = Tokenizer::load(find_tokenizer(model_dir));   // tekken.json preferred
//   std::vector<std::int32_t> ids = tok.encode("Describe the image.");     // never special ids
//   std::string text = tok.decode(ids);                           // == the input, byte for byte
//   StreamingDecoder out(tok);
//   for (int id : generated) std::cout << out.push(id);            // whole UTF-8 characters only
//   std::cout << out.flush();
//
// Encoding: the text is split into pieces by the tekken pre-tokenisation regex (PCRE2, JIT when
// available, its classes made to match tiktoken's: Unicode 16.0 letters, marks and digits, and
// `\s` as White_Space, so the pieces are mistral-common's; tests/crosscheck); a piece that is
// itself a token is emitted whole, otherwise its bytes are merged pair by pair, always the
// adjacent pair whose concatenation has the lowest rank (leftmost on ties), as tiktoken does.
// Special ids (BOS, [INST], [IMG], ...) never come out of encode(): the literal text "[INST]" is
// ordinary text. Control tokens are placed by the prompt builder (prompt.h).
//
// Bytes that are not valid UTF-8 are never matched by the regex (PCRE2_MATCH_INVALID_UTF);
// each run of them between two matches becomes a piece of its own, encoded by the same byte
// BPE. So encode() accepts any byte string and decode(encode(x)) == x for every x. decode()
// returns raw bytes: it can be invalid UTF-8 only if the ids themselves spell invalid UTF-8.
//
// Ownership and threads: a Tokenizer is an immutable, reference-counted value; copies share
// one vocabulary. All const member functions are thread-safe. A StreamingDecoder belongs to one
// generation on one thread and refers to its Tokenizer, which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace framescribe::inference {

// What decode() does with special ids (< num_special()), as mistral-common's SpecialTokenPolicy.
enum class SpecialTokenPolicy {
  kIgnore,  // leave them out (the default: generated text)
  kKeep,    // write their names, e.g. "[INST]" or "<SPECIAL_42>" (debugging, prompts)
  kRaise,   // throw Error(kInvalidArgument)
};

enum class TokenizerFormat { kTekken, kHuggingFace };
std::string_view to_string(TokenizerFormat format);

// The tekken pre-tokenisation pattern (docs/pixtral.md section 6.3).
extern const std::string_view kTekkenPattern;

struct TokenizerData;  // private: what the file readers produce

class Tokenizer {
 public:
  // Reads tekken.json or tokenizer.json; the format is recognised from the content, not the
  // name. Throws Error: kNotFound (no such file), kIo, kMalformedModel (the message names the
  // file and the field), kUnsupported (well-formed but not a tekken vocabulary).
  static Tokenizer load(const std::filesystem::path& path);
  // The same readers on a file's content; `source` names it in error messages. No file is
  // needed (fuzzing, tests).
  static Tokenizer from_tekken_json(std::string_view json, std::string_view source);
  static Tokenizer from_hf_json(std::string_view json, std::string_view source);
  // Recognises the format from the content.
  static Tokenizer from_json(std::string_view json, std::string_view source);

  // Token ids of `text`; any bytes are accepted (see the header comment).
  std::vector<std::int32_t> encode(std::string_view text) const;
  // Appends to `out` instead (reuse in loops).
  void encode_append(std::string_view text, std::vector<std::int32_t>& out) const;

  // Concatenated bytes of `ids`. Throws Error(kInvalidArgument) for an id outside
  // [0, vocab_size()) and, with kRaise, for a special id.
  std::string decode(std::span<const std::int32_t> ids,
                     SpecialTokenPolicy policy = SpecialTokenPolicy::kIgnore) const;

  // Ids are [0, num_special()) for special tokens, then num_special() + rank for BPE tokens.
  int vocab_size() const;
  int num_special() const;
  bool is_special(std::int32_t id) const { return id >= 0 && id < num_special(); }
  // The name of a special token ("[IMG]", "<SPECIAL_42>"). Throws kInvalidArgument otherwise.
  std::string special_token(std::int32_t id) const;
  // The bytes of a BPE token. Throws kInvalidArgument for special or out-of-range ids.
  std::string_view token_bytes(std::int32_t id) const;

  // Special ids by name, read from the file (never constants). find_special returns nullopt for
  // a name the file does not define; special_id throws Error(kNotFound) naming the file.
  std::optional<int> find_special(std::string_view name) const;
  int special_id(std::string_view name) const;
  int bos() const { return special_id("<s>"); }
  int eos() const { return special_id("</s>"); }
  int inst() const { return special_id("[INST]"); }
  int inst_end() const { return special_id("[/INST]"); }
  int img() const { return special_id("[IMG]"); }
  int img_break() const { return special_id("[IMG_BREAK]"); }
  int img_end() const { return special_id("[IMG_END]"); }

  TokenizerFormat format() const;
  const std::string& source() const;   // the file it came from
  const std::string& version() const;  // tekken config.version ("v3"); "" for tokenizer.json
  const std::string& pattern() const;  // the pre-tokenisation regex in use
  bool uses_jit() const;               // PCRE2 JIT compiled the pattern

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend Tokenizer make_tokenizer(TokenizerData data);
};

// The tokenizer file of a model folder: tekken.json if present, else tokenizer.json. Throws
// Error(kNotFound) naming the folder when it has neither.
std::filesystem::path find_tokenizer(const std::filesystem::path& model_dir);

// Turns ids into text as they are generated, one at a time, and never returns half a UTF-8
// character: bytes that may still become a character are held back until the next id or
// flush(). Bytes that can never be valid UTF-8 are passed through as they are, so the
// concatenation of everything returned equals tokenizer.decode(all ids, policy).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer,
                            SpecialTokenPolicy policy = SpecialTokenPolicy::kIgnore)
      : tokenizer_(&tokenizer), policy_(policy) {}
  // The text that became complete with `id` (often empty). Throws like decode().
  std::string push(std::int32_t id);
  // Whatever is still held back (an incomplete character at the end), then resets.
  std::string flush();

 private:
  std::string take_complete();
  const Tokenizer* tokenizer_;
  SpecialTokenPolicy policy_;
  std::string pending_;
};

// Length of the longest prefix of `bytes` that does not end inside a UTF-8 character that
// could still be completed by more bytes. Exposed for tests.
std::size_t utf8_complete_prefix(std::string_view bytes);

}  // namespace framescribe::inference
