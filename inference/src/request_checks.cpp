#include "request_checks.h"

#include "framescribe/core/error.h"

namespace framescribe::inference {

std::int64_t check_eval_request(const ModelConfig& config, std::int64_t n_past,
                                std::int64_t max_context, std::span<const std::int32_t> tokens,
                                std::size_t image_embd_values) {
  const TextConfig& t = config.text;
  const std::int64_t n = static_cast<std::int64_t>(tokens.size()), d = t.n_embd;
  FS_CHECK(n_past + n <= max_context, kInvalidArgument,
           n << " more tokens after " << n_past << " exceed the context of " << max_context
             << " tokens");
  FS_CHECK(image_embd_values % static_cast<std::size_t>(d) == 0, kInvalidArgument,
           "image embeddings hold " << image_embd_values
                                    << " values, not a whole number of rows of " << d);
  const std::int64_t n_rows = static_cast<std::int64_t>(image_embd_values) / d;
  std::int64_t n_image_tokens = 0;
  for (std::int32_t tok : tokens) {
    FS_CHECK(tok >= 0 && tok < t.n_vocab, kInvalidArgument,
             "token id " << tok << " is outside the vocabulary of " << t.n_vocab);
    n_image_tokens += tok == config.image_token_id;
  }
  FS_CHECK(
      n_image_tokens == n_rows, kInvalidArgument,
      "the tokens hold " << n_image_tokens << " image tokens but " << n_rows
                         << " image feature rows were given; image blocks and images must match");
  return n_rows;
}

std::int64_t check_image(const VisionConfig& v, const PixelImage& img, std::size_t index) {
  const int p = v.patch_px;
  FS_CHECK(img.width_px > 0 && img.height_px > 0 && img.width_px % p == 0 &&
               img.height_px % p == 0 && img.width_px <= v.image_size_px &&
               img.height_px <= v.image_size_px,
           kInvalidArgument,
           "image " << index << " is " << img.width_px << "x" << img.height_px
                    << "; sides must be positive multiples of " << p << " up to " << v.image_size_px
                    << " (use preprocess_image)");
  FS_CHECK(img.chw.size() == 3ull * img.width_px * img.height_px, kInvalidArgument,
           "image " << index << ": " << img.chw.size() << " values for a 3x" << img.height_px << "x"
                    << img.width_px << " image");
  return std::int64_t{img.height_px / p} * (img.width_px / p);
}

}  // namespace framescribe::inference
