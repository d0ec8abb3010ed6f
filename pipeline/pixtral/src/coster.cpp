#include "framescribe/pixtral/coster.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/inference/prompt.h"
#include "window_prompt.h"

namespace framescribe::pixtral {

using namespace framescribe::inference;

PixtralCoster::PixtralCoster(const ModelConfig& config, Tokenizer tokenizer, std::string system,
                             std::int64_t context_tokens)
    : tok_(std::move(tokenizer)), patch_px_(config.vision.patch_px) {
  context_ = context_tokens > 0 ? std::min(context_tokens, config.text.max_context)
                                : config.text.max_context;
  // The fixed part is what build_prompt makes of a window prompt with nothing in it: BOS
  // [INST] [/INST] and the system prompt as it is encoded before the chunks. A text-only turn
  // encodes system + "\n\n" + "" as one string: the same tokens as the system prompt
  // encoded on its own before the chunks of a turn with images.
  std::vector<Message> empty = base_messages(system);
  empty.push_back(Message::user(""));
  fixed_ = static_cast<std::int64_t>(build_prompt(tok_, empty).ids.size());
  // The ids do not change the count; a tokenizer without them fails when a prompt is built.
  img_ = tok_.find_special("[IMG]").value_or(-1);
  img_break_ = tok_.find_special("[IMG_BREAK]").value_or(-1);
  img_end_ = tok_.find_special("[IMG_END]").value_or(-1);
}

std::int64_t PixtralCoster::text_tokens(std::string_view text) const {
  return static_cast<std::int64_t>(tok_.encode(text).size());
}

std::int64_t PixtralCoster::image_tokens(int width_px, int height_px) const {
  FS_CHECK(width_px > 0 && height_px > 0 && width_px % patch_px_ == 0 && height_px % patch_px_ == 0,
           kInvalidArgument,
           "frame of " << width_px << "x" << height_px << " is not on the model's " << patch_px_
                       << "-pixel patch grid");
  // The block build_prompt inserts for this image.
  return static_cast<std::int64_t>(
      image_block_tokens(TargetSize{width_px, height_px, patch_px_}, img_, img_break_, img_end_)
          .size());
}

}  // namespace framescribe::pixtral
