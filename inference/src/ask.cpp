#include "framescribe/inference/ask.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "framescribe/core/log.h"

namespace framescribe::inference {

AskImage prepare_ask_image(std::string name, const core::ImageView& img,
                           const PreprocessOptions& pre) {
  AskImage li;
  li.name = std::move(name);
  li.source_width_px = img.width_px;
  li.source_height_px = img.height_px;
  li.pixels = preprocess_image(img, pre);
  // An extreme aspect ratio leaves one patch across: the model sees a strip of smeared pixels.
  const int patch_px = pre.patch_px;
  const int cols = li.pixels.width_px / patch_px, rows = li.pixels.height_px / patch_px;
  const int short_src = std::min(li.source_width_px, li.source_height_px);
  if (std::min(cols, rows) == 1 && std::max(cols, rows) > 1 && short_src > patch_px) {
    FS_LOG_WARN(li.name << ": " << li.source_width_px << "x" << li.source_height_px << " becomes "
                        << li.pixels.width_px << "x" << li.pixels.height_px << ", one patch "
                        << (rows == 1 ? "high" : "wide")
                        << ": a strip the model can hardly read; crop the image or ask about "
                           "parts of it");
  }
  FS_LOG_DEBUG(li.name << ": " << li.source_width_px << "x" << li.source_height_px << " -> "
                       << li.pixels.width_px << "x" << li.pixels.height_px);
  return li;
}

std::vector<Message> ask_messages(const std::string& system, const std::vector<AskImage>& images,
                                  int patch_px, const std::string& question) {
  std::vector<Message> messages;
  if (!system.empty()) messages.push_back(Message::system(system));
  std::vector<Chunk> chunks;
  for (const AskImage& li : images) chunks.push_back(Chunk::image_chunk(li.pixels, patch_px));
  chunks.push_back(Chunk::text_chunk(question));
  messages.push_back(Message::user(std::move(chunks)));
  return messages;
}

std::string ask_report_json(const ChatResult& r, const ChatPrompt& prompt,
                            const std::vector<AskImage>& images, const AskTimings& at,
                            const std::string& engine_name) {
  nlohmann::ordered_json j;
  j["answer"] = r.text;
  j["prompt_tokens"] = r.usage.prompt_tokens;
  j["generated_tokens"] = r.tokens.size();
  j["stop_reason"] = to_string(r.stop_reason);
  j["tokens"] = r.tokens;
  nlohmann::ordered_json imgs = nlohmann::ordered_json::array();
  for (const ImagePlacement& p : prompt.prompt.images) {
    const AskImage& li = images.at(p.source_index);
    imgs.push_back({{"source", li.name},
                    {"width_px", li.source_width_px},
                    {"height_px", li.source_height_px},
                    {"model_width_px", li.pixels.width_px},
                    {"model_height_px", li.pixels.height_px},
                    {"tokens", p.n_tokens}});
  }
  j["images"] = imgs;
  const ChatTimings& t = r.timings;
  j["timings_ms"] = {{"images", at.images_ms},  {"load", at.load_ms},    {"vision", t.vision_ms},
                     {"prefill", t.prefill_ms}, {"decode", t.decode_ms}, {"total", at.total_ms}};
  j["decode_tokens_per_s"] =
      t.decode_ms > 0 ? static_cast<double>(r.tokens.size()) * 1000.0 / t.decode_ms : 0.0;
  j["engine"] = engine_name;
  // The answer stays exactly the model's (as `tokens` are), so programs see what it said. JSON
  // escapes C0 controls; ensure_ascii escapes DEL and everything above (C1 and bidi controls
  // included) as \uXXXX, so the output is plain ASCII and nothing raw reaches a terminal.
  // Invalid UTF-8 (only possible if the model spells it) is replaced, not an exception.
  return j.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace framescribe::inference
