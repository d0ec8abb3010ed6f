// What the pipeline needs from the model side, as small interfaces: the exact token cost of
// prompt pieces, and an engine that describes a window. Frames come through core's source
// interfaces (core/frame_source.h, implemented by decoder/). The composition root (apps/)
// adapts the Pixtral engine to these; tests use fakes. No media or model library is visible
// here.
//
//   class MyEngine final : public pipeline::WindowEngine { ... };
//   pipeline::VideoPipeline p(engine, sinks, options);     // video_pipeline.h
//   p.run(source, run_info, stop);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/error.h"
#include "framescribe/core/frame.h"
#include "framescribe/core/pixel_image.h"
#include "framescribe/core/stop.h"

namespace framescribe::pipeline {

// The exact number of tokens each piece of a window prompt costs. A window prompt is
//   fixed_tokens() + sum over frames (text_tokens(label) + image_tokens(w, h))
//   + text_tokens(instruction)
// (the prompt builder encodes a label, an image block and the instruction separately, so the
// costs add up exactly). const and thread-safe.
class PromptCoster {
 public:
  virtual ~PromptCoster() = default;
  virtual std::int64_t text_tokens(std::string_view text) const = 0;
  virtual std::int64_t image_tokens(int width_px, int height_px) const = 0;
  virtual std::int64_t fixed_tokens() const = 0;    // BOS, [INST], [/INST], system text
  virtual std::int64_t context_tokens() const = 0;  // the model's context length
};

// A frame ready for the engine: the frame, its number after sampling, and its preprocessed
// pixels (made by WindowEngine::prepare, read by that engine; shared by every window that holds
// the frame, never copied).
struct PreparedFrame {
  core::Frame frame;
  std::int64_t seq = 0;
  std::shared_ptr<const core::PixelImage> pixels;
};

// One multi-image prompt, as the packer laid it out.
struct WindowPlan {
  std::int64_t id = 0;
  std::int64_t start_ns = 0;  // media time covered: [start_ns, end_ns)
  std::int64_t end_ns = 0;
  std::vector<PreparedFrame> frames;
  std::vector<std::string> labels;  // text before each frame, e.g. "[01:05.0]"
  std::string instruction;          // text after the frames
  std::int64_t planned_tokens = 0;  // exact prompt length, without carried text
  std::int64_t carry_budget = 0;    // tokens the engine may add for the previous description
  // Frames of this window that no later window uses: released from the in-flight count when the
  // engine is done with this window.
  std::int64_t release_count = 0;
};

struct WindowAnswer {
  std::string text;
  std::int64_t prompt_tokens = 0;
  std::int64_t answer_tokens = 0;
  std::string prompt_hash;
  double engine_ms = 0;
  bool abandoned = false;  // stopped mid-generation (stop level kAbandon): text is partial
};

// One closed question of WindowEngine::answer_probabilities_batch (views into the caller's
// strings, which outlive the call).
struct AlertQuestion {
  std::string_view question;
  std::span<const std::string> answers;
};

// An engine behind the pipeline: prepares frames (any thread) and runs windows (one at a time).
class WindowEngine {
 public:
  virtual ~WindowEngine() = default;
  virtual const PromptCoster& coster() const = 0;
  // Thread-safe; called from parallel preprocessing tasks.
  virtual std::shared_ptr<const core::PixelImage> prepare(const core::Frame& frame) const = 0;
  // Describes one window. `previous` is the previous window's answer when carrying it over is
  // enabled (empty otherwise); the engine fits it into plan.carry_budget. Not thread-safe.
  // Fatal errors throw; a stop at kAbandon level returns early with abandoned = true.
  virtual WindowAnswer describe(const WindowPlan& plan, std::string_view previous,
                                const core::StopFlag& stop) = 0;
  // A text-only prompt (the summary's reduce passes): one user turn holding `prompt`.
  virtual WindowAnswer complete(std::string_view prompt, const core::StopFlag& stop) = 0;
  // The most tokens one answer may take (reserved in every prompt).
  virtual std::int64_t max_answer_tokens() const = 0;
  // Tokens of a user turn holding only `prompt` (the summary budget).
  virtual std::int64_t text_prompt_tokens(std::string_view prompt) const = 0;
  virtual std::string model_name() const = 0;
  // A yes/no (or any closed) question about the window's frames, scored from the model's
  // probabilities rather than its text: the prompt is the window's frames (labels and images)
  // then `question`; one evaluation gives the next-token distribution after [/INST]; the result
  // is, per answer, the probability of that answer's first token, renormalised over `answers`
  // (so the values sum to 1). Not thread-safe (like describe). Engines that cannot score throw
  // Error(kUnsupported), the default.
  virtual std::vector<double> answer_probabilities(const WindowPlan& plan,
                                                   std::string_view question,
                                                   std::span<const std::string> answers,
                                                   const core::StopFlag& stop) {
    (void)plan, (void)question, (void)answers, (void)stop;
    FS_FAIL(kUnsupported, model_name() << ": this engine cannot score answers (alerts)");
  }
  // A hint, never needed for correctness: the frames of a window still being gathered (a live
  // stream's next window, `partial`: its frames so far, labels and instruction as the packer
  // lays them out) may be prefilled now, while the engine is otherwise idle for this stream, so
  // that the window's describe and questions later prefill only what follows the frames. Called
  // from the thread that calls describe (never while describe runs); answers must not depend on
  // whether or when it was called. An engine shared with other streams (EngineScheduler's
  // clients) keeps the default, which does nothing: one stream's prefill would evict another's.
  // Returns early at stop level kAbandon; engine errors throw.
  virtual void prefill(const WindowPlan& partial, const core::StopFlag& stop) {
    (void)partial, (void)stop;
  }
  // Several questions about one window: result[i] equals answer_probabilities(plan,
  // questions[i].question, questions[i].answers, stop). Engines that can share the window's work
  // between the questions (prefill the frames once) override it; the default asks them one by
  // one and stops early (fewer results) once the stop level reaches kAbandon.
  virtual std::vector<std::vector<double>> answer_probabilities_batch(
      const WindowPlan& plan, std::span<const AlertQuestion> questions,
      const core::StopFlag& stop) {
    std::vector<std::vector<double>> out;
    for (const AlertQuestion& q : questions) {
      if (stop.level() >= core::StopFlag::kAbandon) break;
      out.push_back(answer_probabilities(plan, q.question, q.answers, stop));
    }
    return out;
  }
};

}  // namespace framescribe::pipeline
