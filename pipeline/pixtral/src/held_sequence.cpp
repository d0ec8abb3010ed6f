#include "held_sequence.h"

#include <algorithm>
#include <span>

#include "framescribe/core/error.h"

namespace framescribe::pixtral {

using namespace framescribe::inference;

FrameKey HeldSequence::key_of(const PixelImage* image) const {
  for (const auto& [px, key] : memo_)
    if (px == image) return key;
  memo_.emplace_back(image, frame_key(*image));
  return memo_.back().second;
}

std::size_t HeldSequence::reusable(const ChatPrompt& prompt) const {
  memo_.clear();
  memo_for_ = &prompt;
  const std::vector<std::int32_t>& ids = prompt.prompt.ids;
  if (ids.empty()) return 0;
  const std::size_t most = std::min(ids_.size(), ids.size() - 1);
  std::size_t n = 0;
  while (n < most && ids[n] == ids_[n]) ++n;
  // Equal ids are not equal images: every image block the kept tokens reach must have been
  // filled by an image of the same content, at the same place.
  const std::vector<ImagePlacement>& places = prompt.prompt.images;
  for (std::size_t k = 0; k < places.size() && places[k].first_token < n; ++k) {
    const ImagePlacement& p = places[k];
    const bool same = k < images_.size() && k < prompt.images.size() &&
                      prompt.images[k] != nullptr && images_[k].first_token == p.first_token &&
                      images_[k].n_tokens == p.n_tokens &&
                      images_[k].key == key_of(prompt.images[k]);
    if (!same) {
      n = p.first_token;
      break;
    }
  }
  return n;
}

void HeldSequence::assign(const ChatPrompt& prompt, std::size_t n_tokens) {
  ids_.clear();
  images_.clear();
  if (memo_for_ != &prompt) memo_.clear();
  const std::vector<std::int32_t>& ids = prompt.prompt.ids;
  n_tokens = std::min(n_tokens, ids.size());
  const std::vector<ImagePlacement>& places = prompt.prompt.images;
  for (std::size_t k = 0; k < places.size() && places[k].first_token < n_tokens; ++k) {
    // An image without pixels cannot be vouched for: the sequence is known up to it only.
    if (k >= prompt.images.size() || prompt.images[k] == nullptr) {
      n_tokens = places[k].first_token;
      break;
    }
    images_.push_back({places[k].first_token, places[k].n_tokens, key_of(prompt.images[k])});
  }
  ids_.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_tokens));
  memo_.clear();
  memo_for_ = nullptr;
}

std::vector<TokenKey> HeldSequence::keys(const ModelConfig& config) const {
  std::vector<FrameKey> images;
  for (const Image& im : images_) images.push_back(im.key);
  return prompt_token_keys(ids_, images, config);
}

std::vector<TokenKey> HeldSequence::prompt_keys(const ChatPrompt& prompt, std::size_t n_tokens,
                                                const ModelConfig& config) const {
  if (memo_for_ != &prompt) {
    memo_.clear();
    memo_for_ = &prompt;
  }
  const std::vector<std::int32_t>& ids = prompt.prompt.ids;
  n_tokens = std::min(n_tokens, ids.size());
  std::vector<FrameKey> images;
  const std::vector<ImagePlacement>& places = prompt.prompt.images;
  for (std::size_t k = 0; k < places.size() && places[k].first_token < n_tokens; ++k) {
    FS_CHECK(k < prompt.images.size() && prompt.images[k] != nullptr, kInvalidArgument,
             "image " << k << " of the prompt has no pixels");
    images.push_back(key_of(prompt.images[k]));
  }
  return prompt_token_keys(std::span<const std::int32_t>(ids).first(n_tokens), images, config);
}

void HeldSequence::clear() {
  ids_.clear();
  images_.clear();
}

}  // namespace framescribe::pixtral
