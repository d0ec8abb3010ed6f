#include "framescribe/pixtral/window_engine.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/pixtral/prompt_hash.h"
#include "prompt_dump.h"
#include "window_prompt.h"

namespace framescribe::pixtral {

using namespace framescribe::inference;
using Clock = std::chrono::steady_clock;

std::vector<Message> base_messages(const std::string& system) {
  std::vector<Message> m;
  if (!system.empty()) m.push_back(Message::system(system));
  return m;
}

std::vector<Message> window_messages(const std::string& system, const pipeline::WindowPlan& plan,
                                     std::string_view carry, int patch_px) {
  std::vector<Message> messages = base_messages(system);
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < plan.frames.size(); ++i) {
    const core::Image& img = *plan.frames[i].frame.image;
    chunks.push_back(Chunk::text_chunk(plan.labels[i]));
    Chunk image = Chunk::image_chunk(TargetSize{img.width_px(), img.height_px(), patch_px});
    image.pixels = plan.frames[i].pixels.get();
    chunks.push_back(std::move(image));
  }
  if (!carry.empty())
    chunks.push_back(Chunk::text_chunk("Before these frames: " + std::string(carry)));
  chunks.push_back(Chunk::text_chunk(plan.instruction));
  messages.push_back(Message::user(std::move(chunks)));
  return messages;
}

PixtralWindowEngine::PixtralWindowEngine(const ModelConfig& config, Tokenizer tokenizer,
                                         std::unique_ptr<Engine> engine,
                                         PixtralWindowOptions options)
    : config_(config),
      tok_(std::move(tokenizer)),
      engine_(std::move(engine)),
      opt_(std::move(options)),
      coster_(config_, tok_, opt_.system,
              opt_.context_tokens > 0 ? std::min(opt_.context_tokens, engine_->max_context())
                                      : engine_->max_context()) {
  check_tokenizer_matches(tok_, config_);
}

std::shared_ptr<const core::PixelImage> PixtralWindowEngine::prepare(
    const core::Frame& frame) const {
  FS_CHECK(frame.image != nullptr, kInvalidArgument, "a frame without pixels");
  PreprocessOptions pre;
  pre.patch_px = config_.vision.patch_px;
  pre.longest_edge_px = config_.vision.image_size_px;
  return std::make_shared<const PixelImage>(preprocess_image(frame.image->view(), pre));
}

ChatPrompt PixtralWindowEngine::window_prompt(const pipeline::WindowPlan& plan,
                                              std::string_view carry) const {
  return prepare_chat(tok_, window_messages(opt_.system, plan, carry, config_.vision.patch_px));
}

pipeline::WindowAnswer PixtralWindowEngine::describe(const pipeline::WindowPlan& plan,
                                                     std::string_view previous,
                                                     const core::StopFlag& stop) {
  ChatPrompt prompt = window_prompt(plan, {});
  FS_CHECK(prompt.size() == plan.planned_tokens, kInternal,
           "window " << plan.id << ": the prompt has " << prompt.size()
                     << " tokens but the packer planned " << plan.planned_tokens);
  if (!previous.empty() && plan.carry_budget > 0) {
    // Carry as much of the previous answer as the reserve allows (cut at UTF-8 boundaries).
    std::string carry(previous);
    for (;;) {
      ChatPrompt with = window_prompt(plan, carry);
      if (with.size() <= plan.planned_tokens + plan.carry_budget) {
        prompt = std::move(with);
        break;
      }
      std::size_t n = carry.size() * 3 / 4;
      while (n > 0 && (static_cast<unsigned char>(carry[n]) & 0xC0) == 0x80) --n;
      if (n == 0) break;
      carry.resize(n);
    }
  }
  for (const PixelImage* px : prompt.images)
    FS_CHECK(px != nullptr, kInternal, "window " << plan.id << ": a frame was not prepared");
  if (opt_.dump_prompts != nullptr) {
    PromptDumpInfo info{coster_.context_tokens(), opt_.max_answer_tokens};
    write_prompt_dump(opt_.dump_prompts, tok_, plan, prompt.prompt, info);
  }
  return run(prompt, stop, "window", plan.id);
}

pipeline::WindowAnswer PixtralWindowEngine::run(const ChatPrompt& prompt,
                                                const core::StopFlag& stop, std::string_view kind,
                                                std::int64_t id) {
  const std::int64_t room = coster_.context_tokens() - prompt.size();
  FS_CHECK(room >= 1, kInvalidArgument,
           kind << " " << id << ": the prompt of " << prompt.size()
                << " tokens fills the context of " << coster_.context_tokens());
  ChatOptions co;
  co.max_tokens = static_cast<int>(std::min<std::int64_t>(opt_.max_answer_tokens, room));
  co.sampling = opt_.sampling;
  co.stop_tokens = {tok_.eos()};
  bool abandoned = false;
  const auto t = Clock::now();
  const ChatResult r = run_chat(*engine_, tok_, prompt, co, [&](const ChatPiece& piece) {
    if (piece.token != nullptr && stop.level() >= core::StopFlag::kAbandon) {
      abandoned = true;
      return false;
    }
    return true;
  });
  pipeline::WindowAnswer a;
  a.text = r.text;
  a.prompt_tokens = prompt.size();
  a.answer_tokens = r.usage.completion_tokens;
  a.prompt_hash = prompt_hash(prompt.prompt.ids);
  a.engine_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  a.abandoned = abandoned;
  return a;
}

std::vector<double> PixtralWindowEngine::answer_probabilities(const pipeline::WindowPlan& plan,
                                                              std::string_view question,
                                                              std::span<const std::string> answers,
                                                              const core::StopFlag& stop) {
  FS_CHECK(!answers.empty(), kInvalidArgument, "answer_probabilities: no answers to score");
  FS_CHECK(stop.level() < core::StopFlag::kAbandon, kCancelled, "stopped");
  pipeline::WindowPlan q = plan;
  q.instruction = std::string(question);
  const ChatPrompt prompt = window_prompt(q, {});
  FS_CHECK(prompt.size() < coster_.context_tokens(), kInvalidArgument,
           "alert question on window " << plan.id << ": the prompt of " << prompt.size()
                                       << " tokens fills the context");
  std::vector<std::int32_t> first(answers.size());
  std::vector<int> count(answers.size(), 0);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const std::vector<std::int32_t> ids = tok_.encode(answers[i]);
    FS_CHECK(!ids.empty(), kInvalidArgument, "alert answer '" << answers[i] << "' has no tokens");
    first[i] = ids[0];
  }
  for (std::size_t i = 0; i < answers.size(); ++i)
    for (std::size_t j = 0; j < answers.size(); ++j) count[i] += first[i] == first[j];
  for (const PixelImage* px : prompt.images)
    FS_CHECK(px != nullptr, kInternal, "window " << plan.id << ": a frame was not prepared");
  const std::vector<double> probs = next_token_probabilities(*engine_, prompt);
  std::vector<double> p(answers.size());
  double total = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    FS_CHECK(first[i] >= 0 && static_cast<std::size_t>(first[i]) < probs.size(), kInternal,
             "answer token out of the vocabulary");
    p[i] = probs[static_cast<std::size_t>(first[i])] / count[i];
    total += p[i];
  }
  for (double& v : p) v = total > 0 ? v / total : 1.0 / static_cast<double>(p.size());
  return p;
}

pipeline::WindowAnswer PixtralWindowEngine::complete(std::string_view prompt,
                                                     const core::StopFlag& stop) {
  std::vector<Message> messages = base_messages(opt_.system);
  messages.push_back(Message::user(std::string(prompt)));
  return run(prepare_chat(tok_, messages), stop, "summary prompt", 0);
}

std::int64_t PixtralWindowEngine::text_prompt_tokens(std::string_view prompt) const {
  std::vector<Message> messages = base_messages(opt_.system);
  messages.push_back(Message::user(std::string(prompt)));
  return static_cast<std::int64_t>(build_prompt(tok_, messages).ids.size());
}

}  // namespace framescribe::pixtral
