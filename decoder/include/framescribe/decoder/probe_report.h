// What `framescribe probe` prints: a video's stream facts and its token plan (frames sampled,
// the frame size on Pixtral's patch grid, tokens per frame and in all, and how many 128k-token
// contexts they fill), as text or JSON.
//
//   const StreamInfo in = source->info();
//   const core::TargetSize ts = plan_output_size(in.display_width_px, in.display_height_px, z);
//   std::cout << decoder::probe_report(in, sampling, frames, /*counted=*/false, ts, json);
//
// `frames` comes from estimate_sampled_frames or count_sampled_frames (`counted`). Text: aligned
// "key:  value" lines; JSON: one object (indent 1) and a newline, the plan under "plan". Pure;
// thread-safe.
#pragma once

#include <string>

#include "framescribe/core/patch_grid.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/sampler.h"

namespace framescribe::decoder {

// Pixtral-12B's context, the unit of the plan's "128k windows".
inline constexpr long long kProbeContextTokens = 131072;

std::string probe_report(const StreamInfo& in, const SamplingOptions& sampling, long long frames,
                         bool counted, const core::TargetSize& ts, bool json);

}  // namespace framescribe::decoder
