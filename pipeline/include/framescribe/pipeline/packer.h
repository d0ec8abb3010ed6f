// Window packing: which sampled frames go into which multi-image prompt, exactly within the
// token budget.
//
//   pipeline::PackingOptions opt;                      // budget = context - answer reserve
//   opt.window_ns = 30'000'000'000;                    // at most 30 s of frames per window
//   opt.overlap_ns = 5'000'000'000;                    // the next window repeats the last 5 s
//   pipeline::WindowPacker packer(opt, coster);
//   for (each prepared frame f, in order) {
//     auto out = packer.push(std::move(f));
//     if (out.window) run(*out.window);                // 0 or 1 window per frame
//   }
//   if (auto last = packer.finish(source_end_ns)) run(*last);
//
// Rules:
// - A window holds frames while the prompt (fixed tokens + per frame its label and image block
//   + the instruction written for exactly those frames + the carry budget) fits
//   `context - answer_reserve`, while there are at most max_frames_per_window frames, and
//   while the frames lie within window_ns of the first one.
// - A window covers [first frame, the next window's new frame): its end is the pts of the frame
//   that closed it (the source's end for the last one).
// - Overlap: the next window starts with the previous window's frames whose pts >= end -
//   overlap_ns (so consecutive windows share exactly the frames of the last overlap_ns), then
//   the new frame. A window always adds at least one new frame; if the carried frames and the
//   new one do not fit, the oldest carried frames are dropped (the overlap shrinks) and counted.
// - A frame that does not fit even alone is skipped and counted.
// Labels: "[MM:SS.s]" (core::format_timestamp) before every frame.
// Costs: each frame's label and image are costed once, when pushed. The instruction is costed
// once per packer when the template has no per-window variable ({start}, {end}, {n_frames}),
// else once per distinct (first frame, last frame, count) it is asked for: the last few are
// remembered, so closing a window reuses the cost its last fit check computed.
//
// Not thread-safe: one thread drives a packer.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "framescribe/pipeline/interfaces.h"

namespace framescribe::pipeline {

struct PackingOptions {
  std::int64_t context_tokens = 0;           // 0: the model's context (coster.context_tokens())
  std::int64_t answer_reserve_tokens = 512;  // kept free for the answer
  std::int64_t window_ns = 0;                // > 0: frames of one window span less than this
  std::int64_t max_frames_per_window = 0;    // > 0: at most this many frames per window
  std::int64_t overlap_ns = 0;               // >= 0 and < window_ns when window_ns is set
  std::int64_t carry_tokens = 0;             // > 0: reserve for the previous window's description
  std::string prompt_template;               // empty: kDefaultWindowPrompt
  std::string video_name;                    // for {video}
};

// Throws Error(kInvalidArgument) naming the option.
void validate(const PackingOptions& options);

// The label written before a frame at `pts_ns`.
std::string frame_label(std::int64_t pts_ns);

class WindowPacker {
 public:
  // Validates the options and the template; `coster` must outlive the packer.
  WindowPacker(PackingOptions options, const PromptCoster& coster);

  struct Output {
    std::optional<WindowPlan> window;  // completed by this frame
    std::int64_t skipped = 0;          // frames dropped for good by this call (too large alone)
  };
  Output push(PreparedFrame frame);
  // Closes the last window; `end_ns` is where the input ends (kNoTimestamp: the last frame's
  // pts plus the typical frame interval seen so far).
  std::optional<WindowPlan> finish(std::int64_t end_ns);
  // Drops everything pending (a stop); returns how many frames were never in any window.
  std::int64_t abandon();
  // One window of exactly `frames` (increasing pts) ending at `end_ns`, whatever came before:
  // the live job's windows, one packer per job. Pending frames are dropped first and the frame
  // order starts over (the next window may repeat frames). When the frames do not all fit, the
  // window is the last one this packer would close (the oldest frames are left out); nullopt
  // when none fits. Ids go on counting; a frame cap below frames.size() closes windows early.
  std::optional<WindowPlan> pack(std::span<const PreparedFrame> frames, std::int64_t end_ns);

  std::int64_t budget_tokens() const { return budget_; }
  std::int64_t pending() const { return static_cast<std::int64_t>(pending_.size()); }
  std::int64_t windows_emitted() const { return next_id_; }
  std::int64_t overlap_frames_dropped() const { return overlap_dropped_; }
  // The instruction for frames [first, last] (what {start}, {end}, {n_frames} become).
  std::string instruction(std::int64_t first_pts_ns, std::int64_t last_pts_ns,
                          std::int64_t n_frames) const;

 private:
  struct Pending {
    PreparedFrame frame;
    std::string label;
    std::int64_t cost = 0;
    bool carried = false;  // already in an earlier window
  };
  std::int64_t instruction_tokens(std::int64_t first_pts, std::int64_t last_pts,
                                  std::int64_t n) const;
  std::int64_t prompt_tokens_with(std::int64_t frames_cost, std::int64_t first_pts,
                                  std::int64_t last_pts, std::int64_t n) const;
  bool fits(const std::deque<Pending>& frames, const Pending& extra) const;
  WindowPlan close(std::int64_t end_ns, std::int64_t release_count);

  PackingOptions opt_;
  const PromptCoster& coster_;
  std::int64_t budget_ = 0;
  std::int64_t fixed_ = 0;
  std::deque<Pending> pending_;
  std::int64_t pending_cost_ = 0;
  std::int64_t next_id_ = 0;
  std::int64_t overlap_dropped_ = 0;
  std::int64_t last_pts_ = core::kNoTimestamp;
  std::int64_t interval_sum_ns_ = 0, intervals_ = 0;
  // The instruction's cost: constant (costed once) unless the template has per-window
  // variables; then the last few (first, last, n) asked for.
  bool instruction_varies_ = true;
  std::int64_t instruction_cost_ = 0;
  struct CostMemo {
    std::int64_t first = 0, last = 0, n = 0, tokens = -1;
  };
  mutable std::array<CostMemo, 4> memo_{};
  mutable std::size_t memo_next_ = 0;
};

}  // namespace framescribe::pipeline
