#include "framescribe/pipeline/packer.h"

#include <array>
#include <map>
#include <string_view>
#include <utility>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/pipeline/prompt_template.h"

namespace framescribe::pipeline {

namespace {
constexpr std::array<std::string_view, 4> kWindowVars = {"start", "end", "video", "n_frames"};
}

void validate(const PackingOptions& o) {
  if (o.context_tokens < 0)
    FS_FAIL(kInvalidArgument, "--context must be positive (or 0 for the model's)");
  if (o.answer_reserve_tokens < 1)
    FS_FAIL(kInvalidArgument, "the answer reserve must be at least 1 token");
  if (o.window_ns < 0) FS_FAIL(kInvalidArgument, "--window-seconds must be positive");
  if (o.max_frames_per_window < 0)
    FS_FAIL(kInvalidArgument, "--max-frames-per-window must be positive");
  if (o.overlap_ns < 0) FS_FAIL(kInvalidArgument, "--overlap must be >= 0");
  if (o.window_ns > 0 && o.overlap_ns >= o.window_ns)
    FS_FAIL(kInvalidArgument, "--overlap (" + core::format_timestamp(o.overlap_ns) +
                                  ") must be shorter than --window-seconds (" +
                                  core::format_timestamp(o.window_ns) + ")");
  if (o.carry_tokens < 0) FS_FAIL(kInvalidArgument, "carry tokens must be >= 0");
  if (!o.prompt_template.empty()) check_template(o.prompt_template, kWindowVars);
}

std::string frame_label(std::int64_t pts_ns) {
  return "[" + core::format_timestamp(pts_ns) + "]";
}

WindowPacker::WindowPacker(PackingOptions options, const PromptCoster& coster)
    : opt_(std::move(options)), coster_(coster) {
  validate(opt_);
  if (opt_.prompt_template.empty()) opt_.prompt_template = kDefaultWindowPrompt;
  const std::int64_t context =
      opt_.context_tokens > 0 ? opt_.context_tokens : coster_.context_tokens();
  if (opt_.context_tokens > coster_.context_tokens())
    FS_FAIL(kInvalidArgument, "--context " + std::to_string(opt_.context_tokens) +
                                  " exceeds the model's context of " +
                                  std::to_string(coster_.context_tokens()) + " tokens");
  fixed_ = coster_.fixed_tokens();
  instruction_varies_ = false;
  for (const std::string& name : template_variables(opt_.prompt_template))
    instruction_varies_ = instruction_varies_ || name != "video";
  if (!instruction_varies_) instruction_cost_ = coster_.text_tokens(instruction(0, 0, 0));
  budget_ = context - opt_.answer_reserve_tokens;
  if (budget_ <= fixed_ + opt_.carry_tokens)
    FS_FAIL(kInvalidArgument, "the context (" + std::to_string(context) +
                                  " tokens) leaves no room for frames after " +
                                  "the answer reserve (" +
                                  std::to_string(opt_.answer_reserve_tokens) + ")");
}

std::string WindowPacker::instruction(std::int64_t first_pts_ns, std::int64_t last_pts_ns,
                                      std::int64_t n_frames) const {
  const std::map<std::string, std::string, std::less<>> vars = {
      {"start", core::format_timestamp(first_pts_ns)},
      {"end", core::format_timestamp(last_pts_ns)},
      {"video", opt_.video_name},
      {"n_frames", std::to_string(n_frames)}};
  return expand_template(opt_.prompt_template, vars);
}

std::int64_t WindowPacker::instruction_tokens(std::int64_t first_pts, std::int64_t last_pts,
                                              std::int64_t n) const {
  if (!instruction_varies_) return instruction_cost_;
  for (const CostMemo& m : memo_)
    if (m.tokens >= 0 && m.first == first_pts && m.last == last_pts && m.n == n) return m.tokens;
  const std::int64_t tokens = coster_.text_tokens(instruction(first_pts, last_pts, n));
  memo_[memo_next_] = CostMemo{first_pts, last_pts, n, tokens};
  memo_next_ = (memo_next_ + 1) % memo_.size();
  return tokens;
}

std::int64_t WindowPacker::prompt_tokens_with(std::int64_t frames_cost, std::int64_t first_pts,
                                              std::int64_t last_pts, std::int64_t n) const {
  return fixed_ + frames_cost + instruction_tokens(first_pts, last_pts, n);
}

bool WindowPacker::fits(const std::deque<Pending>& frames, const Pending& extra) const {
  std::int64_t cost = extra.cost;
  if (&frames == &pending_) {
    cost += pending_cost_;
  } else {
    for (const Pending& p : frames) cost += p.cost;
  }
  const std::int64_t n = static_cast<std::int64_t>(frames.size()) + 1;
  if (opt_.max_frames_per_window > 0 && n > opt_.max_frames_per_window) return false;
  const std::int64_t first =
      frames.empty() ? extra.frame.frame.pts_ns : frames.front().frame.frame.pts_ns;
  if (opt_.window_ns > 0 && extra.frame.frame.pts_ns - first >= opt_.window_ns) return false;
  return prompt_tokens_with(cost, first, extra.frame.frame.pts_ns, n) + opt_.carry_tokens <=
         budget_;
}

WindowPlan WindowPacker::close(std::int64_t end_ns, std::int64_t release_count) {
  WindowPlan w;
  w.id = next_id_++;
  w.start_ns = pending_.front().frame.frame.pts_ns;
  w.end_ns = end_ns;
  std::int64_t cost = 0;
  for (const Pending& p : pending_) {
    w.frames.push_back(p.frame);
    w.labels.push_back(p.label);
    cost += p.cost;
  }
  const std::int64_t n = static_cast<std::int64_t>(pending_.size());
  const std::int64_t last = pending_.back().frame.frame.pts_ns;
  w.instruction = instruction(w.start_ns, last, n);
  w.planned_tokens = fixed_ + cost + instruction_tokens(w.start_ns, last, n);
  w.carry_budget = opt_.carry_tokens;
  w.release_count = release_count;
  FS_ASSERT(w.planned_tokens + w.carry_budget <= budget_);
  return w;
}

WindowPacker::Output WindowPacker::push(PreparedFrame frame) {
  FS_CHECK(frame.frame.image != nullptr, kInvalidArgument, "a frame without pixels");
  const std::int64_t pts = frame.frame.pts_ns;
  if (last_pts_ != core::kNoTimestamp) {
    FS_CHECK(pts > last_pts_, kInvalidArgument,
             "frames must come in increasing time (" + core::format_timestamp(pts) + " after " +
                 core::format_timestamp(last_pts_) + ")");
    interval_sum_ns_ += pts - last_pts_;
    ++intervals_;
  }
  last_pts_ = pts;

  Pending p;
  p.label = frame_label(pts);
  p.cost = coster_.text_tokens(p.label) +
           coster_.image_tokens(frame.frame.image->width_px(), frame.frame.image->height_px());
  p.frame = std::move(frame);

  Output out;
  if (!fits({}, p)) {  // too large even alone
    out.skipped = 1;
    return out;
  }
  if (fits(pending_, p)) {
    pending_cost_ += p.cost;
    pending_.push_back(std::move(p));
    return out;
  }
  // Close the window at this frame; carry the frames of the last overlap_ns.
  std::size_t carry_from = pending_.size();
  if (opt_.overlap_ns > 0) {
    while (carry_from > 0 && pending_[carry_from - 1].frame.frame.pts_ns >= pts - opt_.overlap_ns)
      --carry_from;
  }
  // Frames before carry_from are used by no later window.
  std::deque<Pending> carry(pending_.begin() + static_cast<std::ptrdiff_t>(carry_from),
                            pending_.end());
  while (!carry.empty() && !fits(carry, p)) {
    carry.pop_front();
    ++overlap_dropped_;
  }
  const std::int64_t release = static_cast<std::int64_t>(pending_.size() - carry.size());
  out.window = close(pts, release);
  for (Pending& c : carry) c.carried = true;
  pending_ = std::move(carry);
  pending_cost_ = p.cost;
  for (const Pending& c : pending_) pending_cost_ += c.cost;
  pending_.push_back(std::move(p));
  return out;
}

std::optional<WindowPlan> WindowPacker::finish(std::int64_t end_ns) {
  if (pending_.empty()) return std::nullopt;
  const std::int64_t last = pending_.back().frame.frame.pts_ns;
  if (end_ns == core::kNoTimestamp || end_ns <= last) {
    const std::int64_t step = intervals_ > 0 ? interval_sum_ns_ / intervals_ : 1'000'000'000;
    end_ns = last + (step > 0 ? step : 1);
  }
  WindowPlan w = close(end_ns, static_cast<std::int64_t>(pending_.size()));
  pending_.clear();
  pending_cost_ = 0;
  return w;
}

std::int64_t WindowPacker::abandon() {
  std::int64_t never = 0;
  for (const Pending& p : pending_) never += p.carried ? 0 : 1;
  pending_.clear();
  pending_cost_ = 0;
  return never;
}

std::optional<WindowPlan> WindowPacker::pack(std::span<const PreparedFrame> frames,
                                             std::int64_t end_ns) {
  (void)abandon();
  last_pts_ = core::kNoTimestamp;
  interval_sum_ns_ = intervals_ = 0;
  // A window closed early (the frames did not all fit) is dropped: the last one holds the
  // newest frames that fit.
  for (const PreparedFrame& f : frames) (void)push(f);
  return finish(end_ns);
}

}  // namespace framescribe::pipeline
