// Frame sampling policies: which decoded frames become model input. Pure logic on timestamps
// and flags, no FFmpeg, so every policy is testable on synthetic frame lists.
//
//   decoder::SamplingOptions opt;
//   opt.mode = decoder::SamplingMode::kFixedRate;   // or kEveryNth, kKeyframes, kScene, kAll
//   opt.fps = 1.0;
//   opt.max_gap_ns = 5'000'000'000;                 // composes with any mode
//   opt.start_ns = 10'000'000'000; opt.end_ns = 70'000'000'000; opt.max_frames = 50;
//   decoder::Sampler sampler(opt);
//   for (each decoded frame f, in presentation order) {
//     decoder::Verdict v = sampler.offer({f.pts_ns, f.index, f.keyframe, score, f.duration_ns});
//     if (v.emit_previous) use(the frame offered before f);  // nearest to a tick, or a gap filler
//     if (v.emit_current) use(f);
//     if (sampler.done()) break;                            // frame cap or end time reached
//   }
//   if (sampler.finish()) use(the last frame offered);
//
// The sampler looks one frame ahead at most: a caller keeps the previously offered frame (a
// reference, not a copy) until the next offer. A frame is emitted at most once, and emitted
// frames come out in increasing time order.
//
// Threading: a Sampler is driven by one thread; distinct Samplers are independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "framescribe/core/frame.h"

namespace framescribe::decoder {

enum class SamplingMode {
  kAll,        // every frame in the time range
  kFixedRate,  // the frame nearest each tick t_k = start + k / fps (ticks computed, never summed)
  kEveryNth,   // frames 0, N, 2N, ... counted from the first frame in the range
  kKeyframes,  // keyframes only (the source then skips decoding everything else)
  kScene,      // the first frame, then frames whose scene score reaches the threshold
};

struct SamplingOptions {
  SamplingMode mode = SamplingMode::kAll;
  double fps = 1.0;                   // kFixedRate: ticks per second (> 0)
  std::int64_t every_n = 1;           // kEveryNth: N (>= 1)
  double scene_threshold = 0.3;       // kScene: score in [0, 1] (mean absolute luma difference)
  std::int64_t scene_min_gap_ns = 0;  // kScene: no scene frame closer than this to the last one
  std::int64_t max_gap_ns = 0;        // any mode: > 0 guarantees at most this between samples
  std::int64_t start_ns = 0;          // frames with pts < start are ignored (the source seeks)
  std::int64_t end_ns = core::kNoTimestamp;  // frames with pts >= end end the sampling
  std::int64_t max_frames = 0;               // > 0: stop after this many samples
};

// Throws framescribe::Error(kInvalidArgument) with the offending option named.
void validate(const SamplingOptions& options);

// "1 fps", "every 5th frame", "keyframes", "scene >= 0.30", plus range, cap and gap.
std::string describe(const SamplingOptions& options);

// What the sampler needs to know about one decoded frame.
struct FrameFacts {
  std::int64_t pts_ns = 0;  // relative to the stream start, increasing
  std::int64_t index = -1;
  bool keyframe = false;
  double scene_score = -1.0;     // kScene only: difference to the previous frame, in [0, 1]
  std::int64_t duration_ns = 0;  // how long this frame is shown (0 if unknown)
};

struct Verdict {
  bool emit_previous = false;  // emit the frame offered before this one
  bool emit_current = false;   // emit this frame
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);  // validates

  // Offers the next frame (presentation order). Frames outside [start, end) are never emitted.
  Verdict offer(const FrameFacts& frame);
  // At the end of the stream: true when the last offered frame must still be emitted (it is the
  // nearest to a remaining tick, or needed for the gap guarantee).
  bool finish();
  // True once nothing more can be emitted (cap reached, or a frame at or past the end time).
  bool done() const { return done_; }
  bool wants_scene_score() const { return opt_.mode == SamplingMode::kScene; }
  std::int64_t emitted() const { return emitted_; }
  const SamplingOptions& options() const { return opt_; }

 private:
  std::int64_t tick_ns(std::int64_t k) const;
  bool take(bool want);  // applies the frame cap; records the emission

  SamplingOptions opt_;
  std::optional<FrameFacts> prev_;  // the last frame offered inside the range
  bool prev_emitted_ = false;
  std::int64_t last_emitted_ns_ = core::kNoTimestamp;
  std::int64_t next_tick_ = 0;  // k of the next fixed-rate tick
  std::int64_t in_range_ = 0;   // frames offered inside the range (for kEveryNth)
  std::int64_t emitted_ = 0;
  bool done_ = false;
};

}  // namespace framescribe::decoder
