// Token ids written by a person or a program, read back: "1 3 1097", "1,3,1097" or a JSON array
// "[1, 3, 1097]" (what `framescribe tokenize --decode` and `tokenize --json` exchange).
//
//   std::vector<int> ids = inference::parse_token_ids("[1, 3, 1097]");   // {1, 3, 1097}
//   std::string text = tok.decode(ids, SpecialTokenPolicy::kKeep);
//
// Errors: Error(kInvalidArgument) "tokenize --decode: 'x' is not a token id" for a word that is
// not a whole number in [0, 2^31). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace framescribe::inference {

std::vector<int> parse_token_ids(const std::string& text);

}  // namespace framescribe::inference
