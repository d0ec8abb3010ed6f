// Pixtral-12B's prompt layout: mistral-common's InstructTokenizerV3 with images
// (docs/pixtral.md sections 3.3 and 3.5). Text is encoded by the Tokenizer; control and image ids
// come from the tokenizer file.
//
//   using namespace framescribe::inference;
//   std::vector<Message> chat = {
//       Message::system("You describe surveillance footage."),
//       Message::user({Chunk::image_chunk(target_size(w1, h1)),
//                      Chunk::image_chunk(target_size(w2, h2)),
//                      Chunk::text_chunk("What changed between these frames?")})};
//   Prompt p = build_prompt(tok, chat);
//   // p.ids for the engine; images in the order of p.images (p.images[k].source_index says
//   // which of the given images comes k-th).
//
// Rules, as mistral-common applies them:
// - BOS; every user turn is [INST] content [/INST]; an assistant turn is
//   encode(content with trailing spaces removed) then EOS (no EOS when continuing the last one).
// - Consecutive messages of one role are merged; adjacent text chunks (in one message or across
//   merged messages) are joined with "\n\n"; empty text chunks are dropped.
// - System messages are joined with "\n\n" and put inside the LAST user turn only: a text-only
//   turn encodes system + "\n\n" + text as one string; a turn with images encodes
//   system + "\n\n" first, then its chunks.
// - A turn that is text followed by exactly one trailing image gets the image first. Several
//   images keep their order; so images may appear in another order than they were given, and
//   Prompt::images says where each one went.
// - An image is rows x ([IMG] x cols + [IMG_BREAK]), the last [IMG_BREAK] replaced by [IMG_END].
// - If the first (non-system) message is not a user message, an empty user turn is inserted.
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framescribe/inference/preprocess.h"  // TargetSize, PixelImage
#include "framescribe/inference/tokenizer.h"

namespace framescribe::inference {

// One piece of a message: text, or an image of a given patch grid. An image chunk may also
// point at its pixels (by reference; the caller keeps them alive): build_prompt needs only the
// grid, chat.h's prepare_chat hands the pixels to the engine in prompt order.
struct Chunk {
  enum class Kind { kText, kImage };
  Kind kind = Kind::kText;
  std::string text;
  TargetSize image;                    // for kImage: rows() x cols() patches
  const PixelImage* pixels = nullptr;  // for kImage: the preprocessed image, if given

  static Chunk text_chunk(std::string t) { return Chunk{Kind::kText, std::move(t), {}, nullptr}; }
  static Chunk image_chunk(TargetSize size) { return Chunk{Kind::kImage, {}, size, nullptr}; }
  // The image itself (its grid is its size in patches of `patch_px`).
  static Chunk image_chunk(const PixelImage& px, int patch_px) {
    return Chunk{Kind::kImage, {}, TargetSize{px.width_px, px.height_px, patch_px}, &px};
  }
  bool is_image() const { return kind == Kind::kImage; }
};

enum class Role { kSystem, kUser, kAssistant };

struct Message {
  Role role = Role::kUser;
  std::vector<Chunk> content;  // system and assistant messages: text chunks only

  static Message system(std::string text) {
    return {Role::kSystem, {Chunk::text_chunk(std::move(text))}};
  }
  static Message user(std::string text) {
    return {Role::kUser, {Chunk::text_chunk(std::move(text))}};
  }
  static Message user(std::vector<Chunk> chunks) { return {Role::kUser, std::move(chunks)}; }
  static Message assistant(std::string text) {
    return {Role::kAssistant, {Chunk::text_chunk(std::move(text))}};
  }
};

struct PromptOptions {
  // The last message is an assistant message to be continued: no EOS after it.
  bool continue_final_message = false;
};

// Where one image's block landed in Prompt::ids.
struct ImagePlacement {
  std::size_t source_index = 0;  // index among the image chunks of the request, in given order
  std::size_t first_token = 0;   // position of its first [IMG] in ids
  std::size_t n_tokens = 0;      // rows * (cols + 1): [IMG], [IMG_BREAK] and [IMG_END]
  TargetSize size;
};

struct Prompt {
  std::vector<std::int32_t> ids;
  // In prompt order: the order in which the engine must supply the images' features.
  std::vector<ImagePlacement> images;
  std::size_t n_image_tokens = 0;  // [IMG] tokens in all (each replaced by one patch feature)
};

// Throws Error(kInvalidArgument) for an image in a system or assistant message, an empty
// assistant message, continue_final_message without a final assistant message, or an image
// with an empty grid; Error(kNotFound) if the tokenizer lacks a control token.
Prompt build_prompt(const Tokenizer& tokenizer, const std::vector<Message>& messages,
                    const PromptOptions& options = {});

// The block of one image: ([IMG] x cols, [IMG_BREAK]) x rows, the last token [IMG_END].
std::vector<std::int32_t> image_block_tokens(const Tokenizer& tokenizer, TargetSize size);
std::vector<std::int32_t> image_block_tokens(TargetSize size, std::int32_t img_id,
                                             std::int32_t img_break_id, std::int32_t img_end_id);

}  // namespace framescribe::inference
