#include "pixtral_window_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/inference/preprocess.h"

namespace framescribe::apps {
namespace {

using Clock = std::chrono::steady_clock;
using namespace framescribe::inference;

std::vector<Message> base_messages(const std::string& system) {
  std::vector<Message> m;
  if (!system.empty()) m.push_back(Message::system(system));
  return m;
}

}  // namespace

std::string prompt_hash(const std::vector<int>& ids) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (int id : ids) {
    const auto u = static_cast<std::uint32_t>(id);
    for (int b = 0; b < 4; ++b) {
      h ^= (u >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

PixtralCoster::PixtralCoster(const ModelConfig& config, Tokenizer tokenizer, std::string system,
                             std::int64_t context_tokens)
    : tok_(std::move(tokenizer)), patch_px_(config.vision.patch_px) {
  context_ = context_tokens > 0 ? std::min(context_tokens, config.text.max_context)
                                : config.text.max_context;
  // BOS [INST] ... [/INST], plus the system prompt encoded on its own before the chunks.
  fixed_ = 3;
  if (!system.empty()) fixed_ += text_tokens(system + "\n\n");
}

std::int64_t PixtralCoster::text_tokens(std::string_view text) const {
  return static_cast<std::int64_t>(tok_.encode(text).size());
}

std::int64_t PixtralCoster::image_tokens(int width_px, int height_px) const {
  FS_CHECK(width_px > 0 && height_px > 0 && width_px % patch_px_ == 0 && height_px % patch_px_ == 0,
           kInvalidArgument,
           "frame of " << width_px << "x" << height_px << " is not on the model's " << patch_px_
                       << "-pixel patch grid");
  const std::int64_t rows = height_px / patch_px_, cols = width_px / patch_px_;
  return rows * (cols + 1);
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
  FS_CHECK(tok_.img() == config_.image_token_id, kMalformedModel,
           tok_.source() << ": [IMG] is id " << tok_.img() << " but "
                         << config_.config_path.string() << " says " << config_.image_token_id
                         << "; the tokenizer does not belong to this model");
}

std::shared_ptr<const void> PixtralWindowEngine::prepare(const core::Frame& frame) const {
  FS_CHECK(frame.image != nullptr, kInvalidArgument, "a frame without pixels");
  PreprocessOptions pre;
  pre.patch_px = config_.vision.patch_px;
  pre.longest_edge_px = config_.vision.image_size_px;
  return std::make_shared<const PixelImage>(preprocess_image(frame.image->view(), pre));
}

Prompt PixtralWindowEngine::window_prompt(const pipeline::WindowPlan& plan,
                                          std::string_view carry) const {
  std::vector<Message> messages = base_messages(opt_.system);
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < plan.frames.size(); ++i) {
    const core::Image& img = *plan.frames[i].frame.image;
    chunks.push_back(Chunk::text_chunk(plan.labels[i]));
    chunks.push_back(
        Chunk::image_chunk(TargetSize{img.width_px(), img.height_px(), config_.vision.patch_px}));
  }
  if (!carry.empty())
    chunks.push_back(Chunk::text_chunk("Before these frames: " + std::string(carry)));
  chunks.push_back(Chunk::text_chunk(plan.instruction));
  messages.push_back(Message::user(std::move(chunks)));
  return build_prompt(tok_, messages);
}

pipeline::WindowAnswer PixtralWindowEngine::describe(const pipeline::WindowPlan& plan,
                                                     std::string_view previous,
                                                     const core::StopFlag& stop) {
  Prompt prompt = window_prompt(plan, {});
  FS_CHECK(static_cast<std::int64_t>(prompt.ids.size()) == plan.planned_tokens, kInternal,
           "window " << plan.id << ": the prompt has " << prompt.ids.size()
                     << " tokens but the packer planned " << plan.planned_tokens);
  if (!previous.empty() && plan.carry_budget > 0) {
    // Carry as much of the previous answer as the reserve allows (cut at UTF-8 boundaries).
    std::string carry(previous);
    for (;;) {
      Prompt with = window_prompt(plan, carry);
      if (static_cast<std::int64_t>(with.ids.size()) <= plan.planned_tokens + plan.carry_budget) {
        prompt = std::move(with);
        break;
      }
      std::size_t n = carry.size() * 3 / 4;
      while (n > 0 && (static_cast<unsigned char>(carry[n]) & 0xC0) == 0x80) --n;
      if (n == 0) break;
      carry.resize(n);
    }
  }
  std::vector<PixelImage> images;
  images.reserve(prompt.images.size());
  for (const ImagePlacement& p : prompt.images) {
    const auto* px = static_cast<const PixelImage*>(plan.frames.at(p.source_index).pixels.get());
    FS_CHECK(px != nullptr, kInternal, "window " << plan.id << ": a frame was not prepared");
    images.push_back(*px);
  }
  if (opt_.dump_prompts != nullptr) {
    // Text with each image block shown as one placeholder: what the model was asked.
    std::string text;
    std::vector<int> run;
    auto flush = [&] {
      text += tok_.decode(run, SpecialTokenPolicy::kKeep);
      run.clear();
    };
    std::size_t k = 0;
    for (std::size_t i = 0; i < prompt.ids.size();) {
      if (k < prompt.images.size() && i == prompt.images[k].first_token) {
        flush();
        const TargetSize& ts = prompt.images[k].size;
        text += "<image " + std::to_string(ts.cols()) + "x" + std::to_string(ts.rows()) + ">";
        i += prompt.images[k].n_tokens;
        ++k;
      } else {
        run.push_back(prompt.ids[i++]);
      }
    }
    flush();
    std::vector<double> times;
    for (const auto& f : plan.frames) times.push_back(core::media_seconds(f.frame.pts_ns));
    nlohmann::json j = {{"window", plan.id},
                        {"start", core::media_seconds(plan.start_ns)},
                        {"end", core::media_seconds(plan.end_ns)},
                        {"frame_times", times},
                        {"labels", plan.labels},
                        {"prompt_tokens", prompt.ids.size()},
                        {"planned_tokens", plan.planned_tokens},
                        {"context_tokens", coster_.context_tokens()},
                        {"max_answer_tokens", opt_.max_answer_tokens},
                        {"prompt", text}};
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), opt_.dump_prompts);
    std::fflush(opt_.dump_prompts);
  }
  return run(prompt, images, stop, "window", plan.id);
}

pipeline::WindowAnswer PixtralWindowEngine::run(const Prompt& prompt,
                                                const std::vector<PixelImage>& images,
                                                const core::StopFlag& stop, std::string_view kind,
                                                std::int64_t id) {
  const std::int64_t room = coster_.context_tokens() - static_cast<std::int64_t>(prompt.ids.size());
  FS_CHECK(room >= 1, kInvalidArgument,
           kind << " " << id << ": the prompt of " << prompt.ids.size()
                << " tokens fills the context of " << coster_.context_tokens());
  GenerateOptions go;
  go.max_new_tokens = static_cast<int>(std::min<std::int64_t>(opt_.max_answer_tokens, room));
  go.sampling = opt_.sampling;
  go.stop_tokens = {tok_.eos()};
  bool abandoned = false;
  const std::vector<std::int32_t> ids(prompt.ids.begin(), prompt.ids.end());
  const auto t = Clock::now();
  GenerateResult r = generate(*engine_, ids, images, go, [&](std::int32_t) {
    if (stop.level() >= core::StopFlag::kAbandon) {
      abandoned = true;
      return false;
    }
    return true;
  });
  pipeline::WindowAnswer a;
  std::vector<int> out(r.tokens.begin(), r.tokens.end());
  a.text = tok_.decode(out);
  a.prompt_tokens = static_cast<std::int64_t>(prompt.ids.size());
  a.answer_tokens = static_cast<std::int64_t>(r.tokens.size());
  a.prompt_hash = prompt_hash(prompt.ids);
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
  const Prompt prompt = window_prompt(q, {});
  FS_CHECK(static_cast<std::int64_t>(prompt.ids.size()) < coster_.context_tokens(),
           kInvalidArgument,
           "alert question on window " << plan.id << ": the prompt of " << prompt.ids.size()
                                       << " tokens fills the context");
  std::vector<int> first(answers.size());
  std::vector<int> count(answers.size(), 0);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const std::vector<int> ids = tok_.encode(answers[i]);
    FS_CHECK(!ids.empty(), kInvalidArgument, "alert answer '" << answers[i] << "' has no tokens");
    first[i] = ids[0];
  }
  for (std::size_t i = 0; i < answers.size(); ++i)
    for (std::size_t j = 0; j < answers.size(); ++j) count[i] += first[i] == first[j];
  std::vector<PixelImage> images;
  for (const ImagePlacement& p : prompt.images) {
    const auto* px = static_cast<const PixelImage*>(plan.frames.at(p.source_index).pixels.get());
    FS_CHECK(px != nullptr, kInternal, "window " << plan.id << ": a frame was not prepared");
    images.push_back(*px);
  }
  engine_->truncate(0);
  const std::vector<float> feats =
      images.empty() ? std::vector<float>{} : engine_->encode_images(images);
  const std::vector<std::int32_t> ids(prompt.ids.begin(), prompt.ids.end());
  const std::vector<float> logits = engine_->eval(ids, feats, LogitsMode::kLast);
  double mx = -1e300;
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l) - mx);
  std::vector<double> p(answers.size());
  double total = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    FS_CHECK(first[i] >= 0 && static_cast<std::size_t>(first[i]) < logits.size(), kInternal,
             "answer token out of the vocabulary");
    p[i] = std::exp(static_cast<double>(logits[first[i]]) - mx) / z / count[i];
    total += p[i];
  }
  for (double& v : p) v = total > 0 ? v / total : 1.0 / static_cast<double>(p.size());
  return p;
}

pipeline::WindowAnswer PixtralWindowEngine::complete(std::string_view prompt,
                                                     const core::StopFlag& stop) {
  std::vector<Message> messages = base_messages(opt_.system);
  messages.push_back(Message::user(std::string(prompt)));
  const Prompt p = build_prompt(tok_, messages);
  return run(p, {}, stop, "summary prompt", 0);
}

std::int64_t PixtralWindowEngine::text_prompt_tokens(std::string_view prompt) const {
  std::vector<Message> messages = base_messages(opt_.system);
  messages.push_back(Message::user(std::string(prompt)));
  return static_cast<std::int64_t>(build_prompt(tok_, messages).ids.size());
}

}  // namespace framescribe::apps
