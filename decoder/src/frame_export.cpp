#include "framescribe/decoder/frame_export.h"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/decoder/image_writer.h"

namespace framescribe::decoder {

FrameExport export_frames(FfmpegSource& source, const SamplingOptions& sampling,
                          const OutputSizing& sizing, const std::filesystem::path& dir,
                          const std::function<void(double, long long)>& progress) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  FS_CHECK(!ec, kIo,
           dir.string() << ": cannot create the output directory (" << ec.message() << ")");
  const StreamInfo& info = source.info();
  FS_LOG_INFO(info.url << ": " << info.codec << " " << info.display_width_px << "x"
                       << info.display_height_px << ", sampling " << describe(sampling));
  SampledReader reader(source, sampling, sizing);
  const int patch_px = sizing.patch_px;
  std::string jsonl;
  FrameExport r;
  std::string last_name;
  while (std::optional<core::Frame> f = reader.next()) {
    const core::Image& img = *f->image;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%011.3f", core::ns_to_seconds(f->pts_ns));
    std::string name = std::string(buf) + ".png";
    if (name == last_name + ".png")
      name = std::string(buf) + "_" + std::to_string(f->index) + ".png";
    last_name = buf;
    write_png(dir / name, img.view());
    const int frame_tokens = core::TargetSize{img.width_px(), img.height_px(), patch_px}.n_tokens();
    nlohmann::ordered_json j;
    j["pts_s"] = core::media_seconds(f->pts_ns);
    j["index"] = f->index;
    j["width"] = img.width_px();
    j["height"] = img.height_px();
    j["tokens"] = frame_tokens;
    j["file"] = name;
    j["keyframe"] = f->keyframe;
    j["source_width"] = f->source_width_px;
    j["source_height"] = f->source_height_px;
    jsonl += j.dump() + "\n";
    ++r.frames;
    r.tokens += frame_tokens;
    if (progress) progress(core::ns_to_seconds(f->pts_ns), r.frames);
  }
  write_file_atomic(dir / "frames.jsonl",
                    {reinterpret_cast<const std::uint8_t*>(jsonl.data()), jsonl.size()});
  return r;
}

}  // namespace framescribe::decoder
