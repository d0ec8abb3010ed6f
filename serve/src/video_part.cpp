// video_url parts: the source check (paths under --allow-path, http(s), data: URIs into private
// temporary files) and the expander that samples a video as summarize does.
#include "framescribe/serve/video_part.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "framescribe/core/base64.h"
#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/video_frame_source.h"
#include "framescribe/decoder/video_input.h"
#include "framescribe/pipeline/packer.h"
#include "framescribe/serve/api_error.h"
#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/model_host.h"
#include "video_engine.h"

namespace framescribe::serve {
namespace {

namespace fs = std::filesystem;

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// True when `p` (canonical) is `dir` (canonical) or inside it, compared component by component.
bool inside(const fs::path& p, const fs::path& dir) {
  auto d = dir.begin();
  auto q = p.begin();
  for (; d != dir.end(); ++d, ++q) {
    if (d->empty()) continue;  // a trailing separator
    if (q == p.end() || *q != *d) return false;
  }
  return true;
}

VideoSource local_source(const std::string& path, const ServeLimits& limits,
                         const std::string& where) {
  if (limits.allow_paths.empty())
    throw ApiError(400,
                   where + ": " + core::redact_source(path) +
                       ": local video files are not allowed on this server (start it with "
                       "--allow-path DIR to allow files under DIR)",
                   where);
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(fs::absolute(path, ec), ec);
  bool allowed = false;
  for (const std::string& a : limits.allow_paths) {
    std::error_code ec2;
    const fs::path dir = fs::weakly_canonical(fs::absolute(a, ec2), ec2);
    if (!ec && !ec2 && inside(canon, dir)) allowed = true;
  }
  if (!allowed)
    throw ApiError(400,
                   where + ": " + core::redact_source(path) +
                       " is not under an allowed directory (--allow-path)",
                   where);
  if (!fs::is_regular_file(canon, ec))
    throw ApiError(400, where + ": " + core::redact_source(path) + ": no such file", where);
  VideoSource v;
  v.url = canon.string();
  v.display = core::redact_source(path);
  v.stem = core::source_stem(path);
  return v;
}

VideoSource data_source(const std::string& uri, const std::string& where,
                        std::int64_t max_data_bytes) {
  const std::size_t comma = uri.find(',');
  const std::string_view head = std::string_view(uri).substr(0, comma);
  if (comma == std::string::npos || !starts_with_ci(head, "data:video/") || head.size() < 7 ||
      head.substr(head.size() - 7) != ";base64")
    throw ApiError(400, where + ": a data URI must be data:video/TYPE;base64,DATA", where);
  const std::string_view b64 = std::string_view(uri).substr(comma + 1);
  if (static_cast<std::int64_t>(b64.size() / 4 * 3) > max_data_bytes + 3)
    throw ApiError(
        413, where + ": the video is larger than " + std::to_string(max_data_bytes) + " bytes",
        where);
  std::vector<std::uint8_t> bytes;
  try {
    bytes = core::decode_base64(b64, where, /*allow_whitespace=*/true);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), where);
  }
  if (bytes.empty()) throw ApiError(400, where + ": the data URI holds no bytes", where);
  std::string tmpl = (fs::temp_directory_path() / "framescribe-video-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());  // mode 0600, a name nobody else has
  if (fd < 0) throw ApiError(500, where + ": cannot create a temporary file for the video");
  auto file = std::shared_ptr<const fs::path>(new fs::path(tmpl), [](const fs::path* p) {
    std::error_code ec;
    fs::remove(*p, ec);
    delete p;
  });
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      ::close(fd);
      throw ApiError(500, where + ": cannot write the video's temporary file");
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  VideoSource v;
  v.url = tmpl;
  v.display = std::string(head.substr(0, head.size() - 7)) + ";base64,...";
  v.stem = "video";
  v.temp_file = std::move(file);
  return v;
}

}  // namespace

VideoSource resolve_video_source(const std::string& source, const ServeLimits& limits,
                                 const std::string& where, std::int64_t max_data_bytes) {
  if (source.empty()) throw ApiError(400, where + ": the video source is empty", where);
  if (starts_with_ci(source, "data:")) return data_source(source, where, max_data_bytes);
  decoder::VideoInput in;
  try {
    in = decoder::check_video_input(source, /*allow_stdin=*/false);
  } catch (const Error& e) {
    throw ApiError(400, where + ": " + e.what(), where);
  }
  if (in.kind == decoder::VideoInputKind::kFile) return local_source(in.location, limits, where);
  if (in.kind != decoder::VideoInputKind::kHttp)
    throw ApiError(400, where + ": only files, http(s) URLs and data URIs are accepted", where);
  VideoSource v;
  v.url = in.location;
  v.display = in.display;
  v.stem = core::source_stem(source);
  return v;
}

VideoExpander make_video_expander(ModelHost& host, const ServeLimits& limits_in) {
  struct State {
    std::once_flag once;
    std::unique_ptr<pixtral::PixtralWindowEngine> glue;  // prepare() only: never runs
  };
  auto state = std::make_shared<State>();
  const ServeLimits limits = limits_in;
  return [&host, limits, state](const RequestPart& part,
                                const std::function<bool()>& cancelled) -> VideoFrames {
    const std::string& where = part.where;
    // The Pixtral glue prepares frames exactly as a summarize window's; made on first use
    // (the model may still be loading when the server starts).
    std::call_once(state->once,
                   [&] { state->glue = make_host_window_engine(host, {}, "video frames"); });
    const double fps = part.video.fps.value_or(host.default_fps);
    if (!std::isfinite(fps) || fps <= 0 || fps > 1000)
      throw ApiError(400, where + ".fps: must be > 0 and <= 1000", where + ".fps");
    const int max_edge = part.video.max_edge.value_or(host.default_max_edge);
    const int patch = host.config.vision.patch_px > 0 ? host.config.vision.patch_px : 16;
    const int edge_cap =
        host.config.vision.image_size_px > 0 ? host.config.vision.image_size_px : 1024;
    if (max_edge < patch || max_edge > edge_cap || max_edge % patch != 0)
      throw ApiError(400,
                     where + ".max_edge: must be a multiple of " + std::to_string(patch) +
                         " between " + std::to_string(patch) + " and " + std::to_string(edge_cap),
                     where + ".max_edge");
    const int max_frames = part.video.max_frames.value_or(0);
    if (part.video.max_frames && (max_frames < 1 || max_frames > limits.max_images))
      throw ApiError(400,
                     where + ".max_frames: must be between 1 and " +
                         std::to_string(limits.max_images) + " (the server's image limit)",
                     where + ".max_frames");
    const VideoSource src = resolve_video_source(part.source, limits, where, limits.max_body_bytes);
    core::StopFlag stop;
    decoder::OutputSizing sizing;
    sizing.longest_edge_px = max_edge;
    sizing.patch_px = patch;
    auto open = [&](double rate) {
      decoder::SamplingOptions s;
      s.mode = decoder::SamplingMode::kFixedRate;
      s.fps = rate;
      // One frame more than allowed is enough to know that there are too many.
      s.max_frames = max_frames > 0 ? max_frames : limits.max_images + 1;
      decoder::SourceOptions so;
      so.sample_fps = rate;
      so.network_timeout_ms = limits.url_timeout_ms;
      so.max_pixels = limits.max_image_pixels;
      return std::make_unique<decoder::VideoFrameSource>(src.url, so, s, sizing, &stop);
    };
    VideoFrames out;
    try {
      auto source = open(fps);
      // max_frames spreads the frames over the clip: a lower rate when the clip is long.
      if (max_frames > 0 && source->end_ns() != core::kNoTimestamp && source->end_ns() > 0) {
        const double seconds = core::ns_to_seconds(source->end_ns());
        if (fps * seconds > max_frames) source = open(max_frames / seconds);
      }
      while (auto frame = source->next()) {
        if (cancelled && cancelled()) return VideoFrames{};
        if (static_cast<int>(out.frames.size()) >= limits.max_images)
          throw ApiError(400,
                         where + ": more than " + std::to_string(limits.max_images) +
                             " frames at " + std::to_string(fps) +
                             " fps; give max_frames or a lower fps",
                         where);
        out.labels.push_back(pipeline::frame_label(frame->pts_ns));
        out.pts_ns.push_back(frame->pts_ns);
        out.frames.push_back(state->glue->prepare(*frame));
        out.duration_s = core::ns_to_seconds(frame->pts_ns);
      }
      if (source->end_ns() != core::kNoTimestamp)
        out.duration_s = core::ns_to_seconds(source->end_ns());
    } catch (const Error& e) {
      throw ApiError(400, where + ": " + src.display + ": " + e.what(), where);
    }
    if (out.frames.empty())
      throw ApiError(400, where + ": " + src.display + ": no frame could be decoded", where);
    return out;
  };
}

}  // namespace framescribe::serve
