#include "framescribe/inference/image_fit.h"

#include <sstream>

#include "framescribe/inference/preprocess.h"

namespace framescribe::inference {

std::string thousands(std::int64_t n) {
  // Built forwards (no insert: GCC 12 warns -Wrestrict on std::string::insert here).
  const std::string digits = std::to_string(n);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') s += ',';
    s += digits[i];
  }
  return s;
}

int largest_fitting_edge(const std::vector<std::pair<int, int>>& source_sizes, int patch_px,
                         int edge_px, std::int64_t text_tokens, std::int64_t context) {
  for (int e = edge_px; e >= patch_px; e -= patch_px) {
    std::int64_t n = text_tokens;
    for (const auto& [w, h] : source_sizes) n += target_size(w, h, e, patch_px).n_tokens();
    if (n < context) return e;
  }
  return 0;
}

std::string image_fit_problem(std::int64_t prompt_tokens, std::int64_t image_tokens,
                              const std::vector<std::pair<int, int>>& source_sizes, int patch_px,
                              int edge_px, std::int64_t context) {
  if (prompt_tokens < context) return {};
  std::ostringstream m;
  m << (source_sizes.size() == 1 ? "the image needs " : "the images need ")
    << thousands(image_tokens) << " tokens (the prompt " << thousands(prompt_tokens)
    << " in all); the context is " << thousands(context) << ": ";
  const int fit =
      largest_fitting_edge(source_sizes, patch_px, edge_px, prompt_tokens - image_tokens, context);
  if (fit > 0) {
    m << "use --max-edge " << fit;
  } else {
    m << "no --max-edge fits; give fewer images or a shorter question";
  }
  return m.str();
}

}  // namespace framescribe::inference
