// A video as part of a chat request (the `video_url` content part, a framescribe extension):
// decoded and sampled as `summarize` samples a file (fps, max_frames, max_edge from the part or
// the server's defaults), each frame placed after its timestamp label, as a window prompt of
// `summarize` places them. Implemented in video_part.cpp (the decoder's VideoFrameSource and the
// Pixtral glue's labels); ChatService calls it through a VideoExpander, so the chat path links no
// decoder when a server is built without video.
//
// Sources: a local path under ServeLimits::allow_paths, http(s):// (decoder::check_video_input's
// rules), or data:video/...;base64 (decoded into a temporary file, size-capped).
// Errors: ApiError 400 naming `part.where` (cannot open, not a video, no frames, too many frames
// for the context), 413 (too large).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/pixel_image.h"
#include "framescribe/serve/chat_request.h"

namespace framescribe::serve {

struct VideoFrames {
  std::vector<std::string> labels;                                // labels[k] precedes frames[k]
  std::vector<std::shared_ptr<const core::PixelImage>> frames;    // preprocessed for the model
  double duration_s = 0;
};

// `cancelled` is polled between frames (true: stop, ApiError 499-style is not used: the caller
// sees an empty result and gives up).
using VideoExpander =
    std::function<VideoFrames(const RequestPart& part, const std::function<bool()>& cancelled)>;

}  // namespace framescribe::serve
