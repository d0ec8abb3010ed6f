// One call from chat messages to an answer: the request API that `ask`, the Pixtral window
// engine (pipeline/pixtral) and the HTTP server use. It builds the Instruct v3 prompt
// (prompt.h), hands the images to the engine in prompt order by reference, generates with
// sampling, stop tokens and stop strings, streams text that can be cancelled, and reports usage,
// timings and (on request) each answer token's log-probability with its top alternatives.
//
//   using namespace framescribe::inference;
//   PixelImage px = preprocess_image(img.view());
//   std::vector<Message> chat = {Message::system("Be brief."),
//                                Message::user({Chunk::image_chunk(px, 16),
//                                               Chunk::text_chunk("What is in the image?")})};
//   ChatOptions o;
//   o.max_tokens = 64;
//   o.stop_strings = {"\n\n"};
//   o.top_logprobs = 5;                                   // OpenAI logprobs / top_logprobs
//   ChatResult r = run_chat(engine, tok, prepare_chat(tok, chat), o,
//                           [](const ChatPiece& p) { std::cout << p.text; return true; });
//   r.text; r.usage.prompt_tokens; r.logprobs[0].top[0].logprob;
//
//   // The prompt's cost, by the code that builds it: prepare_chat(tok, chat).prompt.ids.size()
//   // (image chunks need only their grid: Chunk::image_chunk(TargetSize{...})).
//   // The model's next-token distribution after a prompt (alert scoring):
//   std::vector<double> p = next_token_probabilities(engine, prepare_chat(tok, chat));
//
// Rules:
// - Images are never copied: a ChatPrompt holds pointers into the caller's PixelImages, which
//   must outlive the call. An image chunk without pixels can be costed but not run
//   (run_chat throws kInvalidArgument naming it).
// - Log-probabilities are of the model's distribution: log softmax of the logits in double,
//   at temperature 1, before the image token is masked; the sampled token is chosen as
//   generate() chooses it (engine.h), so greedy answers equal generate()'s.
// - Stop strings: the answer ends before the first occurrence of any of them in the decoded
//   text (ChatResult::text excludes it; `tokens` keeps the token that completed it). Streamed
//   text holds back any tail that could still become a stop string, so nothing after a stop
//   string is ever streamed. The concatenated ChatPiece::text equals ChatResult::text.
// - Like generate(): a new sequence (engine.truncate(0)); one engine, one thread.
// - ChatOptions::keep_prefix n > 0 (prompt-prefix reuse, what llama.cpp's cache_prompt does):
//   the caller vouches that the engine's sequence already holds the prompt's first n tokens
//   with the same images (ids alone do not show that); they are kept (engine.truncate(n)) and
//   only prompt[n:] is prefilled, with the rows of the images it reaches (an image wholly
//   before n is not encoded). The answer is the same as without it where the engine's chunked
//   prefill equals the whole one (the CPU engine: bit for bit). 0 <= n < prompt size and
//   n <= engine.n_past(), else kInvalidArgument before the engine is touched.
// - ChatOptions::frame_cache (frame_cache.h): the prompt's images are encoded through it, so a
//   frame seen before is not encoded again; its rows are the engine's own, so the answer is the
//   same as without it. The cache must belong to this engine's weights (one thread, like it).
// Errors: as build_prompt (prompt.h) and the engine (engine.h); a stop string that is empty is
// kInvalidArgument.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/inference/engine.h"
#include "framescribe/inference/prompt.h"
#include "framescribe/inference/sampling.h"
#include "framescribe/inference/tokenizer.h"

namespace framescribe::inference {

class FrameEmbeddingCache;  // frame_cache.h

// A built prompt and its images in prompt order (pointers into the request's chunks).
struct ChatPrompt {
  Prompt prompt;
  std::vector<const PixelImage*> images;  // images[k] fills prompt.images[k]; null: none given
  // Tokens of the image blocks ([IMG], [IMG_BREAK], [IMG_END]).
  std::int64_t image_block_tokens() const;
  std::int64_t size() const { return static_cast<std::int64_t>(prompt.ids.size()); }
};

// Builds the prompt of `messages` (build_prompt) and orders their images' pixels as the prompt
// places them. Throws as build_prompt.
ChatPrompt prepare_chat(const Tokenizer& tokenizer, const std::vector<Message>& messages,
                        const PromptOptions& options = {});

struct TokenLogprob {
  std::int32_t id = 0;
  double logprob = 0;
};

struct GeneratedToken {
  std::int32_t id = 0;
  double logprob = 0;             // of `id` (ChatOptions::logprobs or top_logprobs > 0)
  std::vector<TokenLogprob> top;  // the top_logprobs most likely tokens, most likely first
};

struct ChatOptions {
  int max_tokens = 256;
  SamplingParams sampling;                     // temperature 0 = greedy
  std::vector<std::int32_t> stop_tokens;       // empty: the tokenizer's EOS
  std::vector<std::string> stop_strings;       // the answer ends before the first one found
  bool logprobs = false;                       // fill ChatResult::logprobs
  int top_logprobs = 0;                        // alternatives per token (implies logprobs)
  FrameEmbeddingCache* frame_cache = nullptr;  // encode images through it (null: directly)
  std::int64_t keep_prefix = 0;                // tokens of the sequence kept (see the rules)
};

// One step of a streamed answer: the token just generated and the text that became final with
// it (whole UTF-8 characters, stop strings held back; often empty). After the last token, text
// still held back (an incomplete character, the start of a stop string that never came) comes
// in one more piece with token == nullptr, when there is any.
struct ChatPiece {
  const GeneratedToken* token = nullptr;  // its logprob fields are set only when requested
  std::string_view text;
};
// Return false to stop (StopReason::kCallback): a client went away, a stop was requested. The
// return value of the last piece (token == nullptr, or the one that completed a stop string)
// is ignored.
using ChatCallback = std::function<bool(const ChatPiece&)>;

struct ChatUsage {
  std::int64_t prompt_tokens = 0;  // image block tokens included
  std::int64_t image_tokens = 0;   // of which image blocks
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

struct ChatTimings {
  double vision_ms = 0, prefill_ms = 0, decode_ms = 0;
  double first_token_ms = 0;  // from the call to the first generated token
};

struct ChatResult {
  std::string text;                      // the answer, decoded, ended before a stop string
  std::vector<std::int32_t> tokens;      // generated tokens, without a stop token
  std::vector<GeneratedToken> logprobs;  // per token in `tokens`, when requested
  StopReason stop_reason = StopReason::kMaxTokens;
  std::string stop_string;  // the stop string that ended it (kStopString)
  ChatUsage usage;
  ChatTimings timings;
};

// Runs `prompt` on `engine` and generates its answer. Throws as generate().
ChatResult run_chat(Engine& engine, const Tokenizer& tokenizer, const ChatPrompt& prompt,
                    const ChatOptions& options, const ChatCallback& on_piece = {});
ChatResult run_chat(Engine& engine, const Tokenizer& tokenizer,
                    const std::vector<Message>& messages, const ChatOptions& options,
                    const ChatCallback& on_piece = {});

// The model's next-token distribution after `prompt` (a new sequence: images encoded, prompt
// evaluated once): softmax of the last logits in double over the whole vocabulary. Images are
// encoded through `frame_cache` when given (the same probabilities). keep_prefix: as
// ChatOptions::keep_prefix.
std::vector<double> next_token_probabilities(Engine& engine, const ChatPrompt& prompt,
                                             FrameEmbeddingCache* frame_cache = nullptr,
                                             std::int64_t keep_prefix = 0);

// The features of `prompt`'s images in prompt order ([image tokens, n_embd]): through
// `frame_cache` when given, else engine.encode_images; empty when the prompt has no images.
std::vector<float> encode_prompt_images(Engine& engine, const ChatPrompt& prompt,
                                        FrameEmbeddingCache* frame_cache = nullptr);
// The rows the image tokens at positions >= `from` take ([those tokens, n_embd], in order):
// only the images that reach `from` are encoded (through `frame_cache` when given); `from` 0 is
// encode_prompt_images.
std::vector<float> encode_prompt_images_from(Engine& engine, const ChatPrompt& prompt,
                                             std::int64_t from, FrameEmbeddingCache* frame_cache);

// Softmax in double, max-shifted: p_i = exp(l_i - max) / sum_j exp(l_j - max).
std::vector<double> softmax(std::span<const float> logits);
// The k largest entries of log softmax(logits), most likely first (lower id first on ties).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k);

}  // namespace framescribe::inference
