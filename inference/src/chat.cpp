#include "framescribe/inference/chat.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "framescribe/core/error.h"
#include "framescribe/inference/frame_cache.h"
#include "sample_loop.h"

namespace framescribe::inference {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// log sum exp of the logits, max-shifted, in double.
double log_sum_exp(std::span<const float> logits) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l) - mx);
  return mx + std::log(z);
}

// Length of the longest suffix of `text` (starting at or after `from`) that is a proper prefix
// of one of `stops`: text that may still become a stop string.
std::size_t held_back(std::string_view text, std::size_t from,
                      const std::vector<std::string>& stops) {
  std::size_t hold = 0;
  for (const std::string& s : stops) {
    const std::size_t most = std::min(s.size() - 1, text.size() - from);
    for (std::size_t k = most; k > hold; --k) {
      if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

}  // namespace

std::int64_t ChatPrompt::image_block_tokens() const {
  std::int64_t n = 0;
  for (const ImagePlacement& p : prompt.images) n += static_cast<std::int64_t>(p.n_tokens);
  return n;
}

ChatPrompt prepare_chat(const Tokenizer& tokenizer, const std::vector<Message>& messages,
                        const PromptOptions& options) {
  ChatPrompt c;
  c.prompt = build_prompt(tokenizer, messages, options);
  // ImagePlacement::source_index counts the image chunks in message order.
  std::vector<const PixelImage*> given;
  for (const Message& m : messages) {
    for (const Chunk& ch : m.content) {
      if (ch.is_image()) given.push_back(ch.pixels);
    }
  }
  c.images.reserve(c.prompt.images.size());
  for (const ImagePlacement& p : c.prompt.images) c.images.push_back(given.at(p.source_index));
  return c;
}

std::vector<double> softmax(std::span<const float> logits) {
  double mx = -1e300;
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l) - mx);
  std::vector<double> p(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i)
    p[i] = std::exp(static_cast<double>(logits[i]) - mx) / z;
  return p;
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k) {
  FS_CHECK(k >= 0, kInvalidArgument, "top_logprobs must be >= 0, got " << k);
  const double lse = log_sum_exp(logits);
  std::vector<std::int32_t> ids(logits.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i);
  const std::size_t n = std::min(ids.size(), static_cast<std::size_t>(k));
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                    [&](std::int32_t a, std::int32_t b) {
                      const float la = logits[static_cast<std::size_t>(a)];
                      const float lb = logits[static_cast<std::size_t>(b)];
                      return la != lb ? la > lb : a < b;
                    });
  std::vector<TokenLogprob> top(n);
  for (std::size_t i = 0; i < n; ++i)
    top[i] = {ids[i], static_cast<double>(logits[static_cast<std::size_t>(ids[i])]) - lse};
  return top;
}

namespace {

void check_request(const ChatPrompt& prompt, const ChatOptions& o) {
  FS_CHECK(!prompt.prompt.ids.empty(), kInvalidArgument, "chat: empty prompt");
  FS_CHECK(o.max_tokens >= 0, kInvalidArgument, "max_tokens must be >= 0, got " << o.max_tokens);
  FS_CHECK(o.top_logprobs >= 0, kInvalidArgument,
           "top_logprobs must be >= 0, got " << o.top_logprobs);
  for (const std::string& s : o.stop_strings)
    FS_CHECK(!s.empty(), kInvalidArgument, "chat: an empty stop string");
  FS_CHECK(prompt.images.size() == prompt.prompt.images.size(), kInvalidArgument,
           "chat: " << prompt.images.size() << " images for " << prompt.prompt.images.size()
                    << " image blocks");
  for (std::size_t k = 0; k < prompt.images.size(); ++k) {
    FS_CHECK(prompt.images[k] != nullptr, kInvalidArgument,
             "chat: image " << prompt.prompt.images[k].source_index
                            << " of the request has no pixels (an image chunk made from its "
                               "size only can be costed, not run)");
  }
}

void check_keep(const Engine& engine, const ChatPrompt& prompt, std::int64_t keep) {
  FS_CHECK(keep >= 0 && keep < prompt.size(), kInvalidArgument,
           "chat: keep_prefix " << keep << " for a prompt of " << prompt.size()
                                << " tokens (at least its last token is evaluated)");
  FS_CHECK(keep <= engine.n_past(), kInvalidArgument,
           "chat: keep_prefix " << keep << " but the engine's sequence holds " << engine.n_past()
                                << " tokens");
}

// The sequence cut to its first `keep` tokens (0: a new sequence), the images of the rest
// encoded.
std::vector<float> start_and_encode(Engine& engine, const ChatPrompt& prompt,
                                    FrameEmbeddingCache* frame_cache, std::int64_t keep,
                                    ChatTimings& timings) {
  engine.truncate(keep);
  const auto t0 = Clock::now();
  std::vector<float> features = encode_prompt_images_from(engine, prompt, keep, frame_cache);
  timings.vision_ms = ms_since(t0);
  return features;
}

std::span<const std::int32_t> rest_of(const ChatPrompt& prompt, std::int64_t keep) {
  return std::span<const std::int32_t>(prompt.prompt.ids).subspan(static_cast<std::size_t>(keep));
}

std::vector<float> encode_and_prefill(Engine& engine, const ChatPrompt& prompt,
                                      FrameEmbeddingCache* frame_cache, std::int64_t keep,
                                      ChatTimings& timings) {
  const std::vector<float> features = start_and_encode(engine, prompt, frame_cache, keep, timings);
  const auto t0 = Clock::now();
  std::vector<float> logits = engine.eval(rest_of(prompt, keep), features, LogitsMode::kLast);
  timings.prefill_ms = ms_since(t0);
  return logits;
}

}  // namespace

std::vector<float> encode_prompt_images(Engine& engine, const ChatPrompt& prompt,
                                        FrameEmbeddingCache* frame_cache) {
  if (prompt.images.empty()) return {};
  return frame_cache != nullptr ? frame_cache->encode(engine, prompt.images)
                                : engine.encode_images(prompt.images);
}

std::vector<float> encode_prompt_images_from(Engine& engine, const ChatPrompt& prompt,
                                             std::int64_t from, FrameEmbeddingCache* frame_cache) {
  if (from <= 0) return encode_prompt_images(engine, prompt, frame_cache);
  const std::vector<ImagePlacement>& places = prompt.prompt.images;
  const auto at = static_cast<std::size_t>(from);
  // The first image with a token at or after `from`; those before it are not encoded.
  std::size_t k = 0;
  while (k < places.size() && places[k].first_token + places[k].n_tokens <= at) ++k;
  if (k == places.size()) return {};
  FS_CHECK(prompt.images.size() == places.size(), kInvalidArgument,
           "chat: " << prompt.images.size() << " images for " << places.size() << " image blocks");
  const std::span<const PixelImage* const> rest(prompt.images.data() + k, places.size() - k);
  std::vector<float> f =
      frame_cache != nullptr ? frame_cache->encode(engine, rest) : engine.encode_images(rest);
  // Image k may begin before `from`: its rows for the tokens already held are dropped.
  std::size_t skip = 0;
  for (std::size_t j = places[k].first_token; j < at; ++j)
    skip += prompt.prompt.ids[j] == engine.config().image_token_id;
  const std::size_t drop = skip * static_cast<std::size_t>(engine.config().text.n_embd);
  FS_CHECK(drop <= f.size(), kInternal, "chat: fewer image rows than image tokens");
  f.erase(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(drop));
  return f;
}

ChatResult run_chat(Engine& engine, const Tokenizer& tokenizer, const ChatPrompt& prompt,
                    const ChatOptions& o, const ChatCallback& on_piece) {
  check_request(prompt, o);
  check_keep(engine, prompt, o.keep_prefix);
  const auto t_start = Clock::now();
  std::vector<std::int32_t> stops = o.stop_tokens;
  if (stops.empty()) stops.push_back(tokenizer.eos());
  const bool want_logprobs = o.logprobs || o.top_logprobs > 0;

  ChatResult r;
  r.usage.prompt_tokens = prompt.size();
  r.usage.image_tokens = prompt.image_block_tokens();
  std::int32_t first = 0;
  // Greedy without logprobs: the engine's greedy step (on the device for CUDA).
  NextToken next(engine, o.sampling, /*keep_logits=*/want_logprobs);
  {
    const std::vector<float> features =
        start_and_encode(engine, prompt, o.frame_cache, o.keep_prefix, r.timings);
    const auto t0 = Clock::now();
    first = next(rest_of(prompt, o.keep_prefix), features);
    r.timings.prefill_ms = ms_since(t0);
  }

  StreamingDecoder decoder(tokenizer);
  std::size_t emitted = 0;  // r.text[0, emitted) has been streamed
  const auto t_decode = Clock::now();
  r.stop_reason = sample_loop(
      engine, next, first, stops, o.max_tokens,
      [&](const SampledToken& t) -> std::optional<StopReason> {
        if (r.tokens.empty()) r.timings.first_token_ms = ms_since(t_start);
        GeneratedToken g;
        g.id = t.id;
        if (want_logprobs) {
          g.logprob =
              static_cast<double>(t.logits[static_cast<std::size_t>(t.id)]) - log_sum_exp(t.logits);
          g.top = top_logprobs(t.logits, o.top_logprobs);
        }
        r.tokens.push_back(g.id);
        r.text += decoder.push(g.id);
        if (want_logprobs) r.logprobs.push_back(g);

        // Stop strings: a match can only start in text not yet streamed (see held_back).
        std::size_t found = std::string::npos;
        for (const std::string& s : o.stop_strings) {
          const std::size_t at = r.text.find(s, emitted);
          if (at < found) {
            found = at;
            r.stop_string = s;
          }
        }
        if (found != std::string::npos) {
          r.text.resize(found);
          if (on_piece) on_piece(ChatPiece{&g, std::string_view(r.text).substr(emitted)});
          emitted = r.text.size();
          return StopReason::kStopString;
        }
        const std::size_t safe = r.text.size() - held_back(r.text, emitted, o.stop_strings);
        const std::string_view piece = std::string_view(r.text).substr(emitted, safe - emitted);
        emitted = safe;
        if (on_piece && !on_piece(ChatPiece{&g, piece})) return StopReason::kCallback;
        return std::nullopt;
      });
  if (r.stop_reason != StopReason::kStopString) {
    r.text += decoder.flush();
    if (on_piece && emitted < r.text.size())
      on_piece(ChatPiece{nullptr, std::string_view(r.text).substr(emitted)});
  }
  r.timings.decode_ms = ms_since(t_decode);
  r.usage.completion_tokens = static_cast<std::int64_t>(r.tokens.size());
  return r;
}

ChatResult run_chat(Engine& engine, const Tokenizer& tokenizer,
                    const std::vector<Message>& messages, const ChatOptions& options,
                    const ChatCallback& on_piece) {
  return run_chat(engine, tokenizer, prepare_chat(tokenizer, messages), options, on_piece);
}

std::vector<double> next_token_probabilities(Engine& engine, const ChatPrompt& prompt,
                                             FrameEmbeddingCache* frame_cache,
                                             std::int64_t keep_prefix) {
  check_request(prompt, ChatOptions{});
  check_keep(engine, prompt, keep_prefix);
  ChatTimings unused;
  return softmax(encode_and_prefill(engine, prompt, frame_cache, keep_prefix, unused));
}

}  // namespace framescribe::inference
