// The sampled frames of a video as files, exactly as the model sees them: DIR/<seconds>.png
// (e.g. 0000012.345.png, the frame's timestamp; "_<index>" added when two share a millisecond)
// and DIR/frames.jsonl, one JSON object per frame: pts_s, index, width, height, tokens (Pixtral
// tokens of the frame), file, keyframe, source_width, source_height.
//
//   auto source = decoder::FfmpegSource::open("talk.mp4", source_options);
//   auto r = decoder::export_frames(*source, sampling, sizing, "talk-frames",
//                                   [](double pts_s, long long n) { /* progress */ });
//   // r.frames pictures, r.tokens tokens in all
//
// Rules: every file is written through a temporary renamed over it (a symlink already in the
// directory is replaced, never written through); frames.jsonl is written at the end. Errors:
// Error(kIo) naming the directory or file that cannot be created or written; decoding errors as
// SampledReader. One thread.
#pragma once

#include <filesystem>
#include <functional>

#include "framescribe/decoder/ffmpeg_source.h"

namespace framescribe::decoder {

struct FrameExport {
  long long frames = 0;
  long long tokens = 0;
};

// Creates `dir` if missing, logs the stream and sampling (info), then reads `source` sampled and
// sized as given; `progress(pts_s, frames_so_far)` after each frame (may be empty).
FrameExport export_frames(FfmpegSource& source, const SamplingOptions& sampling,
                          const OutputSizing& sizing, const std::filesystem::path& dir,
                          const std::function<void(double, long long)>& progress);

}  // namespace framescribe::decoder
