// Instruct v3 prompts with images. Follows mistral-common (commit 013341e) `normalize.py`
// (`_aggregate_content_chunks_impl`, `_aggregate_messages`, `_aggregate_system_prompts`) and
// `instruct.py` (`InstructTokenizerBase.encode_instruct`, `InstructTokenizerV1/V2/V3
// .encode_user_content`, `_encode_normal_content_assistant_message`), with the image-first rule of
// mistral-common 6e7410f (docs/pixtral.md 3.5).
#include "framescribe/inference/prompt.h"

#include <optional>

#include "framescribe/core/error.h"

namespace framescribe::inference {
namespace {

constexpr std::string_view kJoin = "\n\n";  // mistral-common _DEFAULT_JOIN_STR

// One element of an aggregated content list: text, or an image with its request index.
struct Item {
  bool is_image = false;
  std::string text;
  TargetSize size;
  std::size_t source_index = 0;
};

struct Turn {
  Role role = Role::kUser;
  std::vector<Item> items;
  bool has_image() const {
    for (const Item& it : items) {
      if (it.is_image) return true;
    }
    return false;
  }
};

const char* role_name(Role r) {
  return r == Role::kSystem ? "system" : r == Role::kUser ? "user" : "assistant";
}

// Adjacent non-empty text, within a message or across merged messages, is joined with "\n\n";
// an image ends the current text.
void append_content(const Message& m, std::vector<Item>& items, std::size_t& next_image) {
  for (const Chunk& c : m.content) {
    if (c.is_image()) {
      FS_CHECK(m.role == Role::kUser, kInvalidArgument,
               "prompt: an image in a " << role_name(m.role)
                                        << " message; only user messages can hold images");
      FS_CHECK(c.image.patch_px > 0 && c.image.rows() > 0 && c.image.cols() > 0, kInvalidArgument,
               "prompt: image " << next_image << " has an empty patch grid (" << c.image.width_px
                                << "x" << c.image.height_px << " px, patch " << c.image.patch_px
                                << ")");
      items.push_back(Item{true, {}, c.image, next_image++});
      continue;
    }
    if (c.text.empty()) continue;
    if (!items.empty() && !items.back().is_image) {
      items.back().text.append(kJoin).append(c.text);
    } else {
      items.push_back(Item{false, c.text, {}, 0});
    }
  }
}

std::string joined_text(const std::vector<Item>& items) {
  std::string s;
  for (const Item& it : items) {
    if (!it.is_image) s += it.text;  // at most one text item once images are excluded
  }
  return s;
}

}  // namespace

std::vector<std::int32_t> image_block_tokens(TargetSize size, std::int32_t img_id,
                                             std::int32_t img_break_id, std::int32_t img_end_id) {
  const int rows = size.rows(), cols = size.cols();
  FS_CHECK(size.patch_px > 0 && rows > 0 && cols > 0, kInvalidArgument,
           "prompt: image of " << size.width_px << "x" << size.height_px << " px with patch "
                               << size.patch_px << " has no patches");
  std::vector<std::int32_t> ids;
  ids.reserve(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols + 1));
  for (int r = 0; r < rows; ++r) {
    ids.insert(ids.end(), static_cast<std::size_t>(cols), img_id);
    ids.push_back(r + 1 < rows ? img_break_id : img_end_id);
  }
  return ids;
}

std::vector<std::int32_t> image_block_tokens(const Tokenizer& tokenizer, TargetSize size) {
  return image_block_tokens(size, tokenizer.img(), tokenizer.img_break(), tokenizer.img_end());
}

Prompt build_prompt(const Tokenizer& tok, const std::vector<Message>& messages,
                    const PromptOptions& options) {
  // System prompts: each system message's text, the messages joined with "\n\n".
  std::string system_prompt;
  bool have_system = false;
  std::size_t next_image = 0;
  for (const Message& m : messages) {
    if (m.role != Role::kSystem) continue;
    std::vector<Item> items;
    append_content(m, items, next_image);
    const std::string text = joined_text(items);
    if (text.empty()) continue;
    if (have_system) system_prompt.append(kJoin);
    system_prompt += text;
    have_system = true;
  }

  // Consecutive messages of one role become one turn. A system message still separates two
  // user messages (it forms a group of its own, which is then dropped), as in mistral-common.
  std::vector<Turn> turns;
  std::optional<Role> current;
  next_image = 0;
  for (const Message& m : messages) {
    if (!current || *current != m.role) {
      current = m.role;
      if (m.role != Role::kSystem) turns.push_back(Turn{m.role, {}});
    }
    if (m.role == Role::kSystem) continue;
    append_content(m, turns.back().items, next_image);
  }
  if (turns.empty() || turns.front().role != Role::kUser) {
    turns.insert(turns.begin(), Turn{Role::kUser, {}});
  }
  FS_CHECK(!options.continue_final_message || turns.back().role == Role::kAssistant,
           kInvalidArgument,
           "prompt: continue_final_message needs the last message to be an assistant message");

  std::size_t last_user = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].role == Role::kUser) last_user = i;
  }

  const int bos = tok.bos(), eos = tok.eos(), inst = tok.inst(), inst_end = tok.inst_end();
  std::optional<int> img, img_break, img_end;  // looked up only when an image is present

  Prompt p;
  p.ids.push_back(bos);
  for (std::size_t t = 0; t < turns.size(); ++t) {
    Turn& turn = turns[t];
    const bool with_system = t == last_user && !system_prompt.empty();
    if (turn.role == Role::kAssistant) {
      FS_CHECK(!turn.has_image(), kInvalidArgument, "prompt: an image in an assistant message");
      std::string text = joined_text(turn.items);
      FS_CHECK(!text.empty(), kInvalidArgument, "prompt: assistant message " << t << " is empty");
      text.erase(text.find_last_not_of(' ') + 1);  // content.rstrip(" ")
      tok.encode_append(text, p.ids);
      if (!(options.continue_final_message && t + 1 == turns.size())) p.ids.push_back(eos);
      continue;
    }

    p.ids.push_back(inst);
    if (!turn.has_image()) {
      // Text only: mistral-common hands one string to the tokenizer (V1 encode_user_content).
      std::string text = joined_text(turn.items);
      if (with_system) text = system_prompt + std::string(kJoin) + text;
      tok.encode_append(text, p.ids);
    } else {
      // Text then exactly one trailing image: the image goes first.
      if (turn.items.size() == 2 && !turn.items[0].is_image && turn.items[1].is_image) {
        std::swap(turn.items[0], turn.items[1]);
      }
      if (with_system) tok.encode_append(system_prompt + std::string(kJoin), p.ids);
      for (const Item& it : turn.items) {
        if (!it.is_image) {
          tok.encode_append(it.text, p.ids);
          continue;
        }
        if (!img) {
          img = tok.img();
          img_break = tok.img_break();
          img_end = tok.img_end();
        }
        std::vector<std::int32_t> block = image_block_tokens(it.size, *img, *img_break, *img_end);
        p.images.push_back(ImagePlacement{it.source_index, p.ids.size(), block.size(), it.size});
        p.n_image_tokens += static_cast<std::size_t>(it.size.rows()) * it.size.cols();
        p.ids.insert(p.ids.end(), block.begin(), block.end());
      }
    }
    p.ids.push_back(inst_end);
  }
  return p;
}

}  // namespace framescribe::inference
