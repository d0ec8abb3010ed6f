#include "framescribe/pixtral/window_engine.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/inference/kv_shift.h"
#include "framescribe/inference/model_folder.h"
#include "framescribe/inference/preprocess.h"
#include "framescribe/pixtral/prompt_hash.h"
#include "held_sequence.h"
#include "prompt_dump.h"
#include "shared_prefix.h"
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
  held_ = std::make_unique<HeldSequence>();
  FS_CHECK(opt_.frame_cache_bytes >= 0, kInvalidArgument,
           "frame cache of " << opt_.frame_cache_bytes << " bytes");
  if (opt_.frame_cache_bytes > 0)
    frame_cache_ = std::make_unique<FrameEmbeddingCache>(opt_.frame_cache_bytes,
                                                         opt_.frame_cache_idle_prompts);
}

PixtralWindowEngine::~PixtralWindowEngine() = default;

std::string to_string(const PixtralEngineStats& s) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << "reuse: " << s.prompts << " prompts (" << s.alert_questions << " alert questions, "
    << s.forked_questions << " forked); prefilled " << s.prefilled_tokens << " of "
    << s.prompt_tokens << " prompt tokens (" << s.reused_tokens << " kept, ";
  if (s.approx_reused_tokens > 0) o << s.approx_reused_tokens << " of them shifted (approximate), ";
  o << s.early_prefilled_tokens << " ahead); encoded " << s.frames_encoded << " of " << s.frames
    << " frames in " << s.encoder_calls << " encoder calls; frame cache " << s.frame_cache_entries
    << " entries, " << static_cast<double>(s.frame_cache_bytes) / (1 << 20) << " MiB";
  return o.str();
}

PixtralEngineStats PixtralWindowEngine::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void PixtralWindowEngine::count(std::int64_t prompts, std::int64_t prompt_tokens,
                                std::int64_t prefilled, std::int64_t frames, std::int64_t reused) {
  std::lock_guard lock(stats_mu_);
  stats_.prompts += prompts;
  stats_.prompt_tokens += prompt_tokens;
  stats_.prefilled_tokens += prefilled;
  stats_.reused_tokens += reused;
  stats_.frames += frames;
  if (frame_cache_) {
    // The cache's own counters (read here, on the engine's thread) are the encoder's work.
    const FrameCacheStats c = frame_cache_->stats();
    stats_.frames_encoded = c.misses;
    stats_.encoder_calls = c.encoder_calls;
    stats_.frame_cache_entries = c.entries;
    stats_.frame_cache_bytes = c.bytes;
  }
}

namespace {

// Images of `prompt` with a token at or after `from` (the ones a prefill from there encodes).
std::int64_t images_from(const ChatPrompt& prompt, std::int64_t from) {
  std::int64_t n = 0;
  for (const ImagePlacement& p : prompt.prompt.images)
    n += static_cast<std::int64_t>(p.first_token + p.n_tokens) > from;
  return n;
}

}  // namespace

std::vector<float> PixtralWindowEngine::encode(const ChatPrompt& prompt, std::int64_t from) {
  std::vector<float> f = encode_prompt_images_from(*engine_, prompt, from, frame_cache_.get());
  note_encoded(prompt, from);
  return f;
}

void PixtralWindowEngine::note_encoded(const ChatPrompt& prompt, std::int64_t from) {
  const std::int64_t n = images_from(prompt, from);
  if (!frame_cache_ && n > 0) {
    std::lock_guard lock(stats_mu_);
    stats_.frames_encoded += n;
    ++stats_.encoder_calls;
  }
}

std::int64_t PixtralWindowEngine::reusable(const ChatPrompt& prompt) const {
  if (!opt_.reuse_prefix || held_->size() == 0) return 0;
  // Only this class moves the engine's sequence; were it shorter than remembered, keep nothing.
  if (engine_->n_past() < static_cast<std::int64_t>(held_->size())) return 0;
  return static_cast<std::int64_t>(held_->reusable(prompt));
}

std::int64_t PixtralWindowEngine::keep_for(const ChatPrompt& prompt, std::int64_t end) {
  const std::int64_t exact = reusable(prompt);
  if (!opt_.approximate_reuse || shift_unsupported_ || exact == 0 || exact + 1 >= end) return exact;
  ShiftPlan plan;
  std::vector<TokenKey> wanted;
  try {
    const std::vector<TokenKey> cached = held_->keys(config_);
    wanted = held_->prompt_keys(prompt, static_cast<std::size_t>(end), config_);
    plan = plan_shift(cached, wanted);
  } catch (const Error&) {
    return exact;  // no keys for a part that ends inside an image: exact reuse
  }
  if (!plan.approximate() || plan.reused() <= exact) return exact;
  // Only frames are worth an approximation: a run of a few text tokens (one question's words
  // after another's) is recomputed exactly.
  const auto moved_begin = wanted.begin() + plan.keep;
  if (std::none_of(moved_begin, moved_begin + plan.moved,
                   [&](const TokenKey& k) { return k.token == config_.image_token_id; }))
    return exact;
  try {
    engine_->shift_out(plan.keep, plan.remove_end);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kUnsupported) {
      held_->clear();  // the sequence is in an unknown state: recompute the prompt whole
      FS_LOG_WARN("approximate reuse: shift failed (" << e.what() << "); recomputing");
      return 0;
    }
    shift_unsupported_ = true;
    FS_LOG_WARN("approximate reuse: this engine cannot shift its cache ("
                << e.what() << "); using exact prefix reuse only");
    return exact;
  } catch (const std::exception& e) {
    held_->clear();
    FS_LOG_WARN("approximate reuse: shift failed (" << e.what() << "); recomputing");
    return 0;
  }
  held_->clear();  // the engine holds the shifted sequence: set again after its eval
  std::lock_guard lock(stats_mu_);
  stats_.approx_reused_tokens += plan.moved;
  return plan.reused();
}

std::vector<float> PixtralWindowEngine::eval_from(const ChatPrompt& prompt, std::int64_t keep,
                                                  std::int64_t end, LogitsMode mode) {
  held_->clear();  // until the engine is done: an error leaves nothing to reuse
  std::vector<float> features = encode(prompt, keep);
  const std::span<const std::int32_t> tokens =
      std::span<const std::int32_t>(prompt.prompt.ids)
          .subspan(static_cast<std::size_t>(keep), static_cast<std::size_t>(end - keep));
  // Rows only for the image tokens in [keep, end).
  const auto rows = static_cast<std::size_t>(
      std::count(tokens.begin(), tokens.end(), static_cast<std::int32_t>(config_.image_token_id)));
  features.resize(std::min(features.size(), rows * static_cast<std::size_t>(config_.text.n_embd)));
  engine_->truncate(keep);
  std::vector<float> logits = engine_->eval(tokens, features, mode);
  if (opt_.reuse_prefix) held_->assign(prompt, static_cast<std::size_t>(end));
  return logits;
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
  co.frame_cache = frame_cache_.get();
  co.keep_prefix = keep_for(prompt, prompt.size());
  held_->clear();  // until run_chat returns: an error leaves nothing to reuse
  bool abandoned = false;
  const auto t = Clock::now();
  const ChatResult r = run_chat(*engine_, tok_, prompt, co, [&](const ChatPiece& piece) {
    if (piece.token != nullptr && stop.level() >= core::StopFlag::kAbandon) {
      abandoned = true;
      return false;
    }
    return true;
  });
  // The prompt was prefilled whole (a stop comes only during generation); the tokens generated
  // after it are not remembered (the next prompt truncates them away).
  if (opt_.reuse_prefix) held_->assign(prompt, static_cast<std::size_t>(prompt.size()));
  note_encoded(prompt, co.keep_prefix);
  count(1, prompt.size(), prompt.size() - co.keep_prefix,
        static_cast<std::int64_t>(prompt.images.size()), co.keep_prefix);
  pipeline::WindowAnswer a;
  a.text = r.text;
  a.prompt_tokens = prompt.size();
  a.answer_tokens = r.usage.completion_tokens;
  a.prompt_hash = prompt_hash(prompt.prompt.ids);
  a.engine_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  a.abandoned = abandoned;
  return a;
}

PixtralWindowEngine::Question PixtralWindowEngine::question_prompt(
    const pipeline::WindowPlan& plan, const pipeline::AlertQuestion& question) {
  FS_CHECK(!question.answers.empty(), kInvalidArgument,
           "answer_probabilities: no answers to score");
  pipeline::WindowPlan q = plan;
  q.instruction = std::string(question.question);
  Question out{window_prompt(q, {}), {}};
  FS_CHECK(out.prompt.size() < coster_.context_tokens(), kInvalidArgument,
           "alert question on window " << plan.id << ": the prompt of " << out.prompt.size()
                                       << " tokens fills the context");
  for (const std::string& answer : question.answers) {
    const std::vector<std::int32_t> ids = tok_.encode(answer);
    FS_CHECK(!ids.empty(), kInvalidArgument, "alert answer '" << answer << "' has no tokens");
    out.first.push_back(ids[0]);
  }
  for (const PixelImage* px : out.prompt.images)
    FS_CHECK(px != nullptr, kInternal, "window " << plan.id << ": a frame was not prepared");
  return out;
}

namespace {

// p_i = probability of answer i's first token / the answers sharing it, renormalised.
std::vector<double> answer_scores(const std::vector<std::int32_t>& first,
                                  const std::vector<double>& probs) {
  std::vector<double> p(first.size());
  double total = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    FS_CHECK(first[i] >= 0 && static_cast<std::size_t>(first[i]) < probs.size(), kInternal,
             "answer token out of the vocabulary");
    int sharing = 0;
    for (std::int32_t f : first) sharing += f == first[i];
    p[i] = probs[static_cast<std::size_t>(first[i])] / sharing;
    total += p[i];
  }
  for (double& v : p) v = total > 0 ? v / total : 1.0 / static_cast<double>(p.size());
  return p;
}

}  // namespace

std::vector<double> PixtralWindowEngine::answer_probabilities(const pipeline::WindowPlan& plan,
                                                              std::string_view question,
                                                              std::span<const std::string> answers,
                                                              const core::StopFlag& stop) {
  const pipeline::AlertQuestion q{question, answers};
  return answer_probabilities_batch(plan, {&q, 1}, stop).at(0);
}

std::vector<std::vector<double>> PixtralWindowEngine::answer_probabilities_batch(
    const pipeline::WindowPlan& plan, std::span<const pipeline::AlertQuestion> questions,
    const core::StopFlag& stop) {
  FS_CHECK(stop.level() < core::StopFlag::kAbandon, kCancelled, "stopped");
  // Every prompt built and checked before the engine does anything.
  std::vector<Question> qs;
  for (const pipeline::AlertQuestion& q : questions) qs.push_back(question_prompt(plan, q));
  std::vector<std::vector<double>> out;
  std::int64_t asked_tokens = 0, frames = 0;
  for (const Question& q : qs) {
    asked_tokens += q.prompt.size();
    frames += static_cast<std::int64_t>(q.prompt.images.size());
  }

  // With prefix reuse the questions run on the engine's own sequence, one after another: each
  // keeps the frames the previous one left, and so does the description that follows.
  BatchEngine* batch =
      !opt_.reuse_prefix && opt_.fork_questions && qs.size() >= 2 ? engine_->batch() : nullptr;
  if (batch != nullptr) {
    // The questions share the window's frames: features once per distinct image list.
    std::vector<ChatPrompt> prompts;
    std::vector<std::vector<float>> features;
    features.reserve(qs.size());  // stable addresses for per_prompt
    std::vector<const std::vector<const PixelImage*>*> lists;
    std::vector<const std::vector<float>*> per_prompt;
    for (const Question& q : qs) {
      prompts.push_back(q.prompt);
      std::size_t k = 0;
      while (k < lists.size() && *lists[k] != q.prompt.images) ++k;
      if (k == lists.size()) {
        features.push_back(encode(q.prompt));
        lists.push_back(&q.prompt.images);
      }
      per_prompt.push_back(&features[k]);
    }
    held_->clear();
    engine_->truncate(0);  // the engine's own sequence gives its blocks to the forks
    const std::optional<ForkedScores> forked = forked_next_token_probabilities(
        *batch, prompts, per_prompt, static_cast<std::int32_t>(config_.image_token_id));
    if (forked) {
      for (std::size_t i = 0; i < qs.size(); ++i)
        out.push_back(answer_scores(qs[i].first, forked->probs[i]));
      {
        std::lock_guard lock(stats_mu_);
        stats_.alert_questions += static_cast<std::int64_t>(qs.size());
        stats_.forked_questions += static_cast<std::int64_t>(qs.size());
      }
      count(static_cast<std::int64_t>(qs.size()), asked_tokens, forked->prefilled_tokens, frames,
            0);
      return out;
    }
    // The pool cannot hold them together: one by one below (frames already in the cache).
  }
  std::int64_t kept = 0;
  for (const Question& q : qs) {
    const std::int64_t keep = keep_for(q.prompt, q.prompt.size());
    const std::vector<float> logits = eval_from(q.prompt, keep, q.prompt.size(), LogitsMode::kLast);
    kept += keep;
    out.push_back(answer_scores(q.first, softmax(logits)));
  }
  {
    std::lock_guard lock(stats_mu_);
    stats_.alert_questions += static_cast<std::int64_t>(qs.size());
  }
  count(static_cast<std::int64_t>(qs.size()), asked_tokens, asked_tokens - kept, frames, kept);
  return out;
}

void PixtralWindowEngine::prefill(const pipeline::WindowPlan& partial, const core::StopFlag& stop) {
  if (!opt_.reuse_prefix || partial.frames.empty() || stop.level() >= core::StopFlag::kAbandon)
    return;
  const ChatPrompt prompt = window_prompt(partial, {});
  if (prompt.prompt.images.empty()) return;
  for (const PixelImage* px : prompt.images)
    if (px == nullptr) return;  // a frame not prepared: nothing to vouch for
  const ImagePlacement& last = prompt.prompt.images.back();
  std::int64_t end = static_cast<std::int64_t>(last.first_token + last.n_tokens);
  // The part every prompt over these frames shares, by tokens: the same frames with another
  // instruction and a carried text must agree up to it.
  pipeline::WindowPlan other = partial;
  other.instruction = partial.instruction + " (other)";
  const ChatPrompt alt = window_prompt(other, "carried");
  std::int64_t same = 0;
  while (same < end && same < alt.size() &&
         alt.prompt.ids[static_cast<std::size_t>(same)] ==
             prompt.prompt.ids[static_cast<std::size_t>(same)])
    ++same;
  end = same;
  // Room for the rest of a window after it; a window that cannot fit is refused at its turn.
  if (end <= 0 || end >= coster_.context_tokens() - 1) return;
  const std::int64_t exact = std::min(reusable(prompt), end);
  if (exact >= end) return;
  const std::int64_t keep = opt_.approximate_reuse ? keep_for(prompt, end) : exact;
  (void)eval_from(prompt, keep, end, LogitsMode::kNone);
  count(0, 0, end - keep, 0, 0);
  std::lock_guard lock(stats_mu_);
  stats_.early_prefilled_tokens += end - keep;
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
