#include "framescribe/inference/token_ids.h"

#include <sstream>

#include "framescribe/core/error.h"

namespace framescribe::inference {

std::vector<int> parse_token_ids(const std::string& text) {
  std::string s = text;
  for (char& c : s) {
    if (c == ',' || c == '[' || c == ']') c = ' ';
  }
  std::istringstream in(s);
  std::vector<int> ids;
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FS_CHECK(used == word.size() && v >= 0 && v <= 0x7fffffff, kInvalidArgument,
             "tokenize --decode: '" << word << "' is not a token id");
    ids.push_back(static_cast<int>(v));
  }
  return ids;
}

}  // namespace framescribe::inference
