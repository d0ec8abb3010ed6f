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
//
//   ChatService chat(host, limits);
//   chat.set_video_expander(make_video_expander(host, limits));
//
// resolve_video_source is the source check alone (the summaries job API uses it too):
//   VideoSource v = resolve_video_source(text, limits, "source");   // throws ApiError
//   decoder::VideoFrameSource src(v.location(), ...);                // v alive while it is read
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framescribe/core/pixel_image.h"
#include "framescribe/serve/chat_request.h"

namespace framescribe::serve {

struct VideoFrames {
  std::vector<std::string> labels;                              // labels[k] precedes frames[k]
  std::vector<std::shared_ptr<const core::PixelImage>> frames;  // preprocessed for the model
  std::vector<std::int64_t> pts_ns;                             // each frame's media time
  double duration_s = 0;
};

// `cancelled` is polled between frames (true: stop, ApiError 499-style is not used: the caller
// sees an empty result and gives up).
using VideoExpander =
    std::function<VideoFrames(const RequestPart& part, const std::function<bool()>& cancelled)>;

struct ModelHost;
struct ServeLimits;

// A checked video source. A data: URI is decoded into a private temporary file (mode 0600 in
// the system temp dir), removed when the last copy of the VideoSource is gone.
struct VideoSource {
  std::string url;      // what the decoder opens: a canonical local path or an http(s) URL
  std::string display;  // safe to show and store (credentials and queries removed)
  std::string stem;     // output file names: the input's file name without extension, or "video"
  std::shared_ptr<const std::filesystem::path> temp_file;  // set for data: URIs
  const std::string& location() const { return url; }
};

// The rules of the header's "Sources" paragraph. `max_data_bytes` caps a data: URI's decoded
// size (413 beyond). Errors: ApiError 400 naming `where` (a scheme refused, a path outside every
// --allow-path or none configured, bad base64, a file that does not exist), 413.
VideoSource resolve_video_source(const std::string& source, const ServeLimits& limits,
                                 const std::string& where, std::int64_t max_data_bytes);

// The expander of a server: sources resolved as above (data: URIs up to limits.max_body_bytes),
// sampling as summarize's (fps, max_frames, max_edge from the part, else host.default_fps and
// host.default_max_edge), at most limits.max_images frames (400 beyond: lower fps or set
// max_frames), frames prepared by the Pixtral glue (PixtralWindowEngine::prepare) and labelled
// by pipeline::frame_label. Thread-safe; decodes on the caller's thread without the gate.
VideoExpander make_video_expander(ModelHost& host, const ServeLimits& limits);

}  // namespace framescribe::serve
