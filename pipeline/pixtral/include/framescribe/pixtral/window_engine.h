// The Pixtral engine behind the pipeline's interfaces (pipeline/interfaces.h): frame
// preprocessing, window prompts in the Instruct v3 layout, the previous answer carried into the
// next prompt, prompt dumps, and alert scores, all through the request API (inference/chat.h).
//
//   pixtral::PixtralWindowOptions wo;
//   wo.system = "You describe surveillance footage.";
//   pixtral::PixtralWindowEngine engine(config, tokenizer, std::move(engine_ptr), wo);
//   pipeline::VideoPipeline(engine, sinks, opt).run(...);
//
// A window's prompt is one user turn: for each frame its label (text) then its image, then the
// instruction (with the previous window's answer before it when carried). The system prompt,
// if any, goes inside that turn as mistral-common places it. Frames reach the engine by
// reference: the prepared pixels of PreparedFrame are shared, never copied per window.
//
// Reuse (issue 24), exact, so answers are unchanged: every prompt's images go through a
// FrameEmbeddingCache (inference/frame_cache.h) bounded by frame_cache_bytes, so a frame that
// overlapping windows, carried windows, hopping live windows or alert questions share is encoded
// once; and where the engine holds many sequences (Engine::batch(): the CPU engine) the alert
// questions of a window (answer_probabilities_batch) prefill the tokens their prompts share once
// and fork one sequence per question for the rest. stats() counts what was asked and what ran.
// Prompt-prefix reuse (reuse_prefix, on any Engine): the engine remembers what its engine's own
// sequence holds (token ids, and the content key of the image behind each image block) and
// keeps the longest common prefix with each new prompt, prefilling only the rest
// (inference::ChatOptions::keep_prefix): the system prompt and the frames shared by a window's
// alert questions and its description, a live window whose frames prefill() already ran. With
// it, a window's alert questions run one after another on that sequence (each costs its own
// tokens after the frames), not forked: the description after them then keeps the frames too.
// After any error the remembered state is dropped (the next prompt starts a new sequence). On
// the CPU engine answers are bit for bit those without reuse (chunked prefill == whole); the
// CUDA engine runs the same truncate + eval calls (unrun there so far: its chunked prefill is
// equal within bf16 tolerance, not bit for bit). One remembered sequence: an engine shared by
// several streams (pipeline::EngineScheduler) keeps what their prompts happen to share.
//
// Approximate reuse (approximate_reuse, opt-in, off by default; needs reuse_prefix): where a
// window slid (frames left at the front, new ones came) the cached tokens after the removed
// ones are kept too, their keys re-rotated to their new positions (Engine::shift_out, as
// llama.cpp's context shift; plan from inference/kv_shift.h). Answers may then differ from
// recomputation: the measured change rates are in inference/README.md "Approximate reuse".
// Where nothing moves (plan.moved == 0) it is exactly the exact path. An engine without shift
// (kUnsupported: CUDA) logs once and uses exact reuse for the rest of the run; any other shift
// error drops the held state and the prompt is recomputed whole.
//
//   wo.reuse_prefix = true;                       // the default
//   engine.prefill(partial_plan, stop);           // live: frames so far, while idle
//   engine.describe(plan, {}, stop);              // prefills only what follows them
//   engine.stats().reused_tokens;                 // prompt tokens kept
//
// Threads: prepare(), coster() and stats() from any thread; describe(), complete(), prefill()
// and answer_probabilities*() from one thread at a time (they drive the one inference::Engine).
// Errors: a prompt that differs from the packer's plan is Error(kInternal); a prompt that fills
// the context, kInvalidArgument; engine errors pass through.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/inference/chat.h"
#include "framescribe/inference/engine.h"
#include "framescribe/inference/frame_cache.h"
#include "framescribe/inference/model_config.h"
#include "framescribe/inference/tokenizer.h"
#include "framescribe/pipeline/interfaces.h"
#include "framescribe/pixtral/coster.h"

namespace framescribe::pixtral {

class HeldSequence;  // src/held_sequence.h (private)

struct PixtralWindowOptions {
  std::string system;  // system prompt (empty: none)
  int max_answer_tokens = 512;
  inference::SamplingParams sampling;  // temperature 0: greedy
  std::int64_t context_tokens = 0;     // 0: the engine's
  std::FILE* dump_prompts = nullptr;   // JSONL: one line per prompt (debugging, tests)
  std::string model_name;
  // Frame embeddings kept for reuse, in bytes (0: none kept; every prompt encodes its frames).
  // 1 GiB holds ~50 frames of 512x512 at Pixtral-12B's width (20 KiB a patch), a few windows.
  std::int64_t frame_cache_bytes = std::int64_t{1} << 30;
  // ... and only while one of the last N prompts with images used them (windows near each
  // other share frames; a video's old frames never come back): memory stays flat over a video.
  // 8 covers a window's questions and description for several streams sharing the engine.
  std::int64_t frame_cache_idle_prompts = 8;
  // Alert questions of a window forked off their shared prefix where the engine allows it
  // (only without reuse_prefix: the engine's own sequence keeps the window's prefix then).
  bool fork_questions = true;
  // Keep the longest common prefix of the engine's sequence and each new prompt (exact).
  bool reuse_prefix = true;
  // Also keep the tokens after frames that left the window, shifted (approximate: answers may
  // change; see above). Off by default.
  bool approximate_reuse = false;
};

// What the engine was asked for and what it ran (counters since construction). "Asked" is what
// the engine did before any reuse: every prompt token prefilled and every frame of every prompt
// encoded; "ran" what it does now.
struct PixtralEngineStats {
  std::int64_t prompts = 0;                 // windows, alert questions and text prompts run
  std::int64_t alert_questions = 0;         // of which alert questions
  std::int64_t forked_questions = 0;        // of which scored on a fork of a shared prefix
  std::int64_t prompt_tokens = 0;           // asked: tokens of those prompts
  std::int64_t prefilled_tokens = 0;        // ran: tokens evaluated in prefill (not decode)
  std::int64_t reused_tokens = 0;           // ran: prompt tokens kept from the engine's sequence
  std::int64_t early_prefilled_tokens = 0;  // of prefilled_tokens: by prefill(), ahead
  std::int64_t approx_reused_tokens = 0;    // ran: tokens kept shifted (approximate_reuse)
  std::int64_t frames = 0;                  // asked: images in those prompts
  std::int64_t frames_encoded = 0;          // ran: images through the vision encoder
  std::int64_t encoder_calls = 0;           // ran: encode_images calls
  std::int64_t frame_cache_entries = 0, frame_cache_bytes = 0;
};
// One line for logs: "reuse: 12 prompts (9 alert questions, 9 forked); prefilled 800 of 2400
// prompt tokens (1500 kept, 100 ahead); encoded 6 of 36 frames in 3 encoder calls; frame cache
// 6 entries, 0.1 MiB"; with approximate_reuse tokens, "(1500 kept, 300 of them shifted
// (approximate), 100 ahead)".
std::string to_string(const PixtralEngineStats& stats);

class PixtralWindowEngine final : public pipeline::WindowEngine {
 public:
  PixtralWindowEngine(const inference::ModelConfig& config, inference::Tokenizer tokenizer,
                      std::unique_ptr<inference::Engine> engine, PixtralWindowOptions options);
  ~PixtralWindowEngine() override;

  const pipeline::PromptCoster& coster() const override { return coster_; }
  std::shared_ptr<const core::PixelImage> prepare(const core::Frame& frame) const override;
  pipeline::WindowAnswer describe(const pipeline::WindowPlan& plan, std::string_view previous,
                                  const core::StopFlag& stop) override;
  pipeline::WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) override;
  // Alert scoring (pipeline/interfaces.h): the window prompt with `question` as its instruction
  // (no carried text); inference::next_token_probabilities gives the model's distribution after
  // it; for each answer its first token (tokenizer encode of the answer; an empty encoding is
  // an error), p_i = that token's probability / the number of answers sharing it, then
  // p_i / sum_j p_j.
  std::vector<double> answer_probabilities(const pipeline::WindowPlan& plan,
                                           std::string_view question,
                                           std::span<const std::string> answers,
                                           const core::StopFlag& stop) override;
  // Every question as answer_probabilities would score it, bit for bit on the CPU engine; with
  // two or more questions and an engine with sequences (fork_questions), the window is
  // prefilled once (shared_prefix.h). A KV pool too small for that falls back to one by one.
  std::vector<std::vector<double>> answer_probabilities_batch(
      const pipeline::WindowPlan& plan, std::span<const pipeline::AlertQuestion> questions,
      const core::StopFlag& stop) override;
  // Prefills `partial`'s prompt up to the end of its last frame: the tokens every prompt over
  // these frames shares (checked on the built ids: two instructions compared, not assumed),
  // keeping what the sequence already holds (a frame list that slid is rebuilt from the frame
  // cache's embeddings, no encoder rerun). Nothing without reuse_prefix.
  void prefill(const pipeline::WindowPlan& partial, const core::StopFlag& stop) override;
  PixtralEngineStats stats() const;
  std::int64_t max_answer_tokens() const override { return opt_.max_answer_tokens; }
  std::int64_t text_prompt_tokens(std::string_view prompt) const override;
  std::string model_name() const override { return opt_.model_name; }

 private:
  // The window's prompt with its images in prompt order (null where a frame was not prepared).
  inference::ChatPrompt window_prompt(const pipeline::WindowPlan& plan,
                                      std::string_view carry) const;
  pipeline::WindowAnswer run(const inference::ChatPrompt& prompt, const core::StopFlag& stop,
                             std::string_view kind, std::int64_t id);
  // The prompt of one alert question and its answers' first tokens (validated).
  struct Question {
    inference::ChatPrompt prompt;
    std::vector<std::int32_t> first;  // per answer: its first token
  };
  Question question_prompt(const pipeline::WindowPlan& plan, const pipeline::AlertQuestion& q);
  // The prompt's image features through the cache; counts frames asked and encoded.
  // Only the images with a token at or after `from` (chat.h: encode_prompt_images_from).
  std::vector<float> encode(const inference::ChatPrompt& prompt, std::int64_t from = 0);
  void note_encoded(const inference::ChatPrompt& prompt, std::int64_t from);  // no cache: count
  void count(std::int64_t prompts, std::int64_t prompt_tokens, std::int64_t prefilled,
             std::int64_t frames, std::int64_t reused);
  // Tokens of `prompt` the engine's sequence holds and may keep (0 without reuse_prefix).
  std::int64_t reusable(const inference::ChatPrompt& prompt) const;
  // Tokens of `prompt` to keep before evaluating its tokens up to `end`: reusable(), or with
  // approximate_reuse where the window slid, the engine's sequence shifted (shift_out) and the
  // kept and moved tokens (the held state is then dropped until the caller's eval is done).
  std::int64_t keep_for(const inference::ChatPrompt& prompt, std::int64_t end);
  // The engine's sequence cut to `keep` tokens, the prompt's tokens [keep, end) evaluated with
  // their image rows; the held state is dropped first and set to prompt[0, end) after.
  std::vector<float> eval_from(const inference::ChatPrompt& prompt, std::int64_t keep,
                               std::int64_t end, inference::LogitsMode mode);

  inference::ModelConfig config_;
  inference::Tokenizer tok_;
  std::unique_ptr<inference::Engine> engine_;
  PixtralWindowOptions opt_;
  PixtralCoster coster_;
  std::unique_ptr<inference::FrameEmbeddingCache> frame_cache_;  // null: frame_cache_bytes 0
  std::unique_ptr<HeldSequence> held_;  // what engine_'s own sequence holds (prefix reuse)
  bool shift_unsupported_ = false;      // the engine threw kUnsupported on shift_out: exact only
  mutable std::mutex stats_mu_;
  PixtralEngineStats stats_;
};

}  // namespace framescribe::pixtral
