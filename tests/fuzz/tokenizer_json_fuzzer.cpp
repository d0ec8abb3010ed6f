// libFuzzer target for the tokenizer file readers: the input is a whole tekken.json (or
// tokenizer.json) file. Any input must either be rejected with framescribe::Error or yield a
// tokenizer that works: special ids in range, and text that encodes to non-special ids and
// decodes back to the same bytes.
//
//   cmake --preset fuzz && cmake --build build/fuzz --target tokenizer_json_fuzzer
//   build/fuzz/tests/fuzz/tokenizer_json_fuzzer -dict=tests/fuzz/tokenizer.dict CORPUS_COPY
// or tools/fuzz.sh [seconds].
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/tokenizer.h"

namespace {

namespace fi = framescribe::inference;

[[noreturn]] void broken_promise(const char* what) {
  std::fprintf(stderr, "tokenizer_json_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  framescribe::core::set_log_level(framescribe::core::LogLevel::kOff);  // pattern warnings
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  try {
    const fi::Tokenizer tok = fi::Tokenizer::from_json(json, "fuzz/tekken.json");
    if (tok.num_special() < 0 || tok.vocab_size() < tok.num_special() + 256) {
      broken_promise("vocabulary smaller than the byte set");
    }
    for (int id = 0; id < tok.num_special() && id < 64; ++id) (void)tok.special_token(id);
    if (auto bos = tok.find_special("<s>"); bos && !tok.is_special(*bos)) {
      broken_promise("a special id outside the special range");
    }
    // A pattern from the file other than tekken's may be arbitrarily slow to match, so only
    // the known pattern encodes here (the encoder has its own fuzzer).
    if (tok.pattern() == fi::kTekkenPattern) {
      const std::string text = "Hello [INST] W\xc3\xb6rld 123\n\n\xe6\x97\xa5\xff  x";
      const std::vector<int> ids = tok.encode(text);
      for (int id : ids) {
        if (tok.is_special(id) || id >= tok.vocab_size()) broken_promise("encode gave a bad id");
      }
      if (tok.decode(ids) != text) broken_promise("decode(encode(x)) != x");
    }
    const std::vector<int> last = {tok.vocab_size() - 1, 0};
    (void)tok.decode(last, fi::SpecialTokenPolicy::kKeep);
  } catch (const framescribe::Error&) {
    return 0;  // rejected: the expected outcome for most inputs
  }
  return 0;
}
