// A question about images, the steps between decoded pictures and the answer that every front
// end of "ask" shares: each image prepared for the model (with a warning for a strip the model
// can hardly read), the chat messages (one user turn: the images in order, then the question; a
// system prompt before it), and the one-object JSON report of the answer.
//
//   std::vector<inference::AskImage> images;
//   for (each decoded picture img named name)
//     images.push_back(inference::prepare_ask_image(name, img.view(), pre));
//   const ChatPrompt prompt = prepare_chat(tok, inference::ask_messages(system, images,
//                                                                          pre.patch_px,
//                                                                          question));
//   const ChatResult r = run_chat(engine, tok, prompt, options, on_piece);
//   std::cout << inference::ask_report_json(r, prompt, images, timings, engine.backend_name());
//
// The images stay in `images` (the prompt refers to their pixels; keep them alive). The JSON is
// plain ASCII (C1 and bidi controls escaped as \uXXXX; invalid UTF-8 replaced), the answer and
// token ids exactly the model's. Errors: as preprocess_image. Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "framescribe/inference/chat.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/inference/prompt.h"

namespace framescribe::inference {

struct AskImage {
  std::string name;  // for messages and the report: URLs redacted, data URIs shortened
  int source_width_px = 0, source_height_px = 0;
  PixelImage pixels;
};

// Preprocesses `image` as `pre` says; logs a warning when it becomes one patch high or wide
// (and the picture was larger than that), and the sizes at debug level.
AskImage prepare_ask_image(std::string name, const core::ImageView& image,
                           const PreprocessOptions& pre);

// [system,] user [images..., question].
std::vector<Message> ask_messages(const std::string& system, const std::vector<AskImage>& images,
                                  int patch_px, const std::string& question);

// Milliseconds spent outside the chat (the chat's own are in ChatResult::timings).
struct AskTimings {
  double images_ms = 0;  // reading, decoding and preparing the images
  double load_ms = 0;    // loading the engine
  double total_ms = 0;   // from the start to the answer
};

// {"answer", "prompt_tokens", "generated_tokens", "stop_reason", "tokens", "images": [{source,
// width_px, height_px, model_width_px, model_height_px, tokens}], "timings_ms",
// "decode_tokens_per_s", "engine"} and a newline.
std::string ask_report_json(const ChatResult& r, const ChatPrompt& prompt,
                            const std::vector<AskImage>& images, const AskTimings& t,
                            const std::string& engine_name);

}  // namespace framescribe::inference
