#include "shared_prefix.h"

#include <algorithm>

#include "framescribe/core/error.h"

namespace framescribe::pixtral {

using namespace framescribe::inference;

std::size_t shared_prefix_tokens(std::span<const ChatPrompt> prompts) {
  if (prompts.empty()) return 0;
  const std::vector<std::int32_t>& first = prompts[0].prompt.ids;
  std::size_t n = first.size();
  for (const ChatPrompt& p : prompts) {
    const std::vector<std::int32_t>& ids = p.prompt.ids;
    const std::size_t most = std::min(n, ids.size());
    std::size_t i = 0;
    while (i < most && ids[i] == first[i]) ++i;
    n = i;
    // The same ids with other pixels differ: stop before the first image not shared.
    for (std::size_t k = 0; k < p.prompt.images.size() && k < prompts[0].prompt.images.size();
         ++k) {
      const std::size_t at = p.prompt.images[k].first_token;
      if (at >= n) break;
      if (k >= p.images.size() || k >= prompts[0].images.size() ||
          p.images[k] != prompts[0].images[k] || p.images[k] == nullptr) {
        n = at;
        break;
      }
    }
  }
  std::size_t shortest = first.size();
  for (const ChatPrompt& p : prompts) shortest = std::min(shortest, p.prompt.ids.size());
  return std::min(n, shortest > 0 ? shortest - 1 : 0);
}

namespace {

// Releases the sequences it holds when it goes out of scope (errors included).
class Sequences {
 public:
  explicit Sequences(BatchEngine& engine) : engine_(engine) {}
  ~Sequences() {
    for (SeqId s : held_) engine_.release(s);
  }
  Sequences(const Sequences&) = delete;
  Sequences& operator=(const Sequences&) = delete;
  SeqId add(SeqId s) {
    held_.push_back(s);
    return s;
  }

 private:
  BatchEngine& engine_;
  std::vector<SeqId> held_;
};

std::size_t image_rows(std::span<const std::int32_t> ids, std::int32_t image_token_id) {
  return static_cast<std::size_t>(std::count(ids.begin(), ids.end(), image_token_id));
}

}  // namespace

std::optional<ForkedScores> forked_next_token_probabilities(
    BatchEngine& engine, std::span<const ChatPrompt> prompts,
    std::span<const std::vector<float>* const> features, std::int32_t image_token_id) {
  FS_CHECK(features.size() == prompts.size(), kInternal,
           features.size() << " feature sets for " << prompts.size() << " prompts");
  ForkedScores out;
  if (prompts.empty()) return out;
  const std::size_t n_embd = static_cast<std::size_t>(engine.config().text.n_embd);
  const std::size_t shared = shared_prefix_tokens(prompts);
  const std::span<const std::int32_t> prefix(prompts[0].prompt.ids.data(), shared);
  const std::size_t prefix_rows = image_rows(prefix, image_token_id);
  for (std::size_t k = 0; k < prompts.size(); ++k)
    FS_CHECK(features[k] != nullptr && features[k]->size() >= prefix_rows * n_embd, kInternal,
             "prompt " << k << ": too few image rows for its prefix");

  Sequences held(engine);
  const SeqId base = held.add(engine.create());
  if (shared > 0) {
    const StepSpan span{base, prefix,
                        std::span<const float>(features[0]->data(), prefix_rows * n_embd),
                        LogitsMode::kNone};
    if (engine.blocks_needed({&span, 1}) > engine.kv_stats().blocks_free) return std::nullopt;
    engine.step({&span, 1});
  }
  // One fork per prompt, its own tokens (and image rows) after the prefix, its last row read.
  std::vector<StepSpan> spans;
  for (std::size_t k = 0; k < prompts.size(); ++k) {
    const std::vector<std::int32_t>& ids = prompts[k].prompt.ids;
    const std::vector<float>& f = *features[k];
    spans.push_back(
        {held.add(engine.fork(base)),
         std::span<const std::int32_t>(ids.data() + shared, ids.size() - shared),
         std::span<const float>(f.data() + prefix_rows * n_embd, f.size() - prefix_rows * n_embd),
         LogitsMode::kLast});
  }
  if (engine.blocks_needed(spans) > engine.kv_stats().blocks_free) return std::nullopt;
  const StepResult r = engine.step(spans);
  FS_CHECK(
      static_cast<std::size_t>(r.first_row.size()) == spans.size(), kInternal,
      "the step returned rows for " << r.first_row.size() << " of " << spans.size() << " spans");
  out.prefix_tokens = static_cast<std::int64_t>(shared);
  out.prefilled_tokens = static_cast<std::int64_t>(shared);
  for (std::size_t k = 0; k < spans.size(); ++k) {
    out.probs.push_back(softmax(r.row(r.first_row[k])));
    out.prefilled_tokens += static_cast<std::int64_t>(spans[k].tokens.size());
  }
  return out;
}

}  // namespace framescribe::pixtral
