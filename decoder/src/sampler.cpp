// Sampling policies. Fixed-rate ticks are computed from their number (start + k / fps), never
// accumulated, so a long video does not drift; the nearest frame to a tick is decided with one
// frame of lookahead (the frame before the tick vs the frame after it).
#include "framescribe/decoder/sampler.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "framescribe/core/error.h"

namespace framescribe::decoder {

namespace {
constexpr std::int64_t kMaxTick = std::int64_t{1} << 52;  // ticks stay exact in a double
}

void validate(const SamplingOptions& o) {
  FS_CHECK(
      o.mode != SamplingMode::kFixedRate || (std::isfinite(o.fps) && o.fps > 0 && o.fps <= 1000),
      kInvalidArgument, "--fps must be in (0, 1000], got " << o.fps);
  FS_CHECK(o.mode != SamplingMode::kEveryNth || o.every_n >= 1, kInvalidArgument,
           "--every must be >= 1, got " << o.every_n);
  FS_CHECK(o.mode != SamplingMode::kScene || (std::isfinite(o.scene_threshold) &&
                                              o.scene_threshold >= 0 && o.scene_threshold <= 1),
           kInvalidArgument, "--scene threshold must be in [0, 1], got " << o.scene_threshold);
  FS_CHECK(o.scene_min_gap_ns >= 0, kInvalidArgument, "--scene-min-gap must be >= 0");
  FS_CHECK(o.max_gap_ns >= 0, kInvalidArgument, "--max-gap must be >= 0");
  FS_CHECK(o.start_ns >= 0, kInvalidArgument, "--start must be >= 0");
  FS_CHECK(o.end_ns == core::kNoTimestamp || o.end_ns > o.start_ns, kInvalidArgument,
           "--end (" << core::ns_to_seconds(o.end_ns) << " s) must be after --start ("
                     << core::ns_to_seconds(o.start_ns) << " s)");
  FS_CHECK(o.max_frames >= 0, kInvalidArgument, "--max-frames must be >= 0");
}

std::string describe(const SamplingOptions& o) {
  std::ostringstream os;
  switch (o.mode) {
    case SamplingMode::kAll:
      os << "every frame";
      break;
    case SamplingMode::kFixedRate:
      os << o.fps << " fps";
      break;
    case SamplingMode::kEveryNth:
      os << "every " << o.every_n << " frame(s)";
      break;
    case SamplingMode::kKeyframes:
      os << "keyframes";
      break;
    case SamplingMode::kScene:
      os << "scene changes >= " << o.scene_threshold;
      if (o.scene_min_gap_ns > 0)
        os << " (min gap " << core::ns_to_seconds(o.scene_min_gap_ns) << " s)";
      break;
  }
  if (o.start_ns > 0 || o.end_ns != core::kNoTimestamp) {
    os << ", from " << core::ns_to_seconds(o.start_ns) << " s";
    if (o.end_ns != core::kNoTimestamp) os << " to " << core::ns_to_seconds(o.end_ns) << " s";
  }
  if (o.max_gap_ns > 0) os << ", max gap " << core::ns_to_seconds(o.max_gap_ns) << " s";
  if (o.max_frames > 0) os << ", at most " << o.max_frames << " frames";
  return os.str();
}

Sampler::Sampler(const SamplingOptions& options) : opt_(options) {
  validate(opt_);
}

std::int64_t Sampler::tick_ns(std::int64_t k) const {
  // k <= 2^52 and fps > 0: the product is exact enough and far from overflow.
  return opt_.start_ns + std::llround(static_cast<double>(k) * 1e9 / opt_.fps);
}

bool Sampler::take(bool want) {
  if (!want) return false;
  if (opt_.max_frames > 0 && emitted_ >= opt_.max_frames) {
    done_ = true;
    return false;
  }
  ++emitted_;
  if (opt_.max_frames > 0 && emitted_ >= opt_.max_frames) done_ = true;
  return true;
}

Verdict Sampler::offer(const FrameFacts& cur) {
  if (done_ || cur.pts_ns < opt_.start_ns) return {};
  if (opt_.end_ns != core::kNoTimestamp && cur.pts_ns >= opt_.end_ns) {
    done_ = true;
    return {};
  }
  ++in_range_;
  Verdict want;
  switch (opt_.mode) {
    case SamplingMode::kAll:
      want.emit_current = true;
      break;
    case SamplingMode::kEveryNth:
      want.emit_current = (in_range_ - 1) % opt_.every_n == 0;
      break;
    case SamplingMode::kKeyframes:
      want.emit_current = cur.keyframe;
      break;
    case SamplingMode::kScene:
      want.emit_current = !prev_ || (cur.scene_score >= opt_.scene_threshold &&
                                     (last_emitted_ns_ == core::kNoTimestamp ||
                                      cur.pts_ns - last_emitted_ns_ >= opt_.scene_min_gap_ns));
      break;
    case SamplingMode::kFixedRate: {
      if (tick_ns(next_tick_) > cur.pts_ns) break;
      // The first tick after this frame, found arithmetically so a timestamp jump cannot make
      // us walk millions of ticks; then nudged to be exact under rounding.
      const double period_ns = 1e9 / opt_.fps;
      double kd = std::floor(static_cast<double>(cur.pts_ns - opt_.start_ns) / period_ns) + 1;
      std::int64_t k_end = static_cast<std::int64_t>(std::min(kd, static_cast<double>(kMaxTick)));
      while (k_end > next_tick_ && tick_ns(k_end - 1) > cur.pts_ns) --k_end;
      while (k_end < kMaxTick && tick_ns(k_end) <= cur.pts_ns) ++k_end;
      if (!prev_) {
        want.emit_current = true;  // nothing before this frame: it is the nearest
      } else {
        // Ticks up to the midpoint go to the previous frame (ties too), later ones to this one.
        const std::int64_t p = prev_->pts_ns;
        auto nearer_prev = [&](std::int64_t t) { return t - p <= cur.pts_ns - t; };
        if (nearer_prev(tick_ns(next_tick_)) && !prev_emitted_) want.emit_previous = true;
        if (!nearer_prev(tick_ns(k_end - 1))) want.emit_current = true;
      }
      next_tick_ = k_end;
      break;
    }
  }

  if (opt_.max_gap_ns > 0) {
    // The gap guarantee: if this frame would end a gap longer than allowed, emit the frame
    // before it (the latest one inside the gap); if even that is too far, this one too.
    std::int64_t last = last_emitted_ns_ == core::kNoTimestamp ? opt_.start_ns : last_emitted_ns_;
    if (want.emit_previous) last = prev_->pts_ns;
    if (cur.pts_ns - last > opt_.max_gap_ns) {
      // An unemitted previous frame is always later than the last emission.
      if (prev_ && !prev_emitted_ && !want.emit_previous) {
        want.emit_previous = true;
        last = prev_->pts_ns;
      }
      if (cur.pts_ns - last > opt_.max_gap_ns) want.emit_current = true;
    }
  }

  Verdict v;
  v.emit_previous = take(want.emit_previous);
  if (v.emit_previous) last_emitted_ns_ = prev_->pts_ns;
  v.emit_current = take(want.emit_current);
  if (v.emit_current) last_emitted_ns_ = cur.pts_ns;
  prev_ = cur;
  prev_emitted_ = v.emit_current;
  return v;
}

bool Sampler::finish() {
  if (!prev_ || prev_emitted_ || opt_.mode != SamplingMode::kFixedRate) return false;
  // Ticks left after the last frame belong to it while it is still on screen.
  std::int64_t stream_end = prev_->pts_ns + std::max<std::int64_t>(prev_->duration_ns, 1);
  if (opt_.end_ns != core::kNoTimestamp) stream_end = std::min(stream_end, opt_.end_ns);
  if (next_tick_ >= kMaxTick || tick_ns(next_tick_) >= stream_end) return false;
  prev_emitted_ = take(true);
  if (prev_emitted_) last_emitted_ns_ = prev_->pts_ns;
  return prev_emitted_;
}

}  // namespace framescribe::decoder
