#include "summarize_run.h"

#include <memory>

#include "framescribe/core/event.h"
#include "framescribe/decoder/video_frame_source.h"
#include "framescribe/sinks/sinks.h"

namespace framescribe::serve {

pipeline::RunResult summarize_video(pipeline::WindowEngine& engine, const SummarizeVideo& video,
                                    core::StopFlag& stop,
                                    const pipeline::ProgressCallback& progress) {
  decoder::VideoFrameSource source(video.url, video.source, video.sampling, video.sizing, &stop);
  std::vector<std::unique_ptr<core::EventSink>> owned;
  std::vector<core::EventSink*> sinks;
  for (const std::string& f : video.formats) {
    owned.push_back(sinks::make_sink(f, video.out_dir, video.stem, nullptr));
    if (owned.back()) sinks.push_back(owned.back().get());
  }
  for (core::EventSink* s : video.extra_sinks) sinks.push_back(s);
  // As apps' file_run_info, then started_at as summarize sets it.
  core::RunInfo info;
  info.video = video.name;
  info.duration_ns = source.end_ns();
  info.width_px = source.info().display_width_px;
  info.height_px = source.info().display_height_px;
  info.model = video.model_name;
  info.sampling = source.sampling_text();
  info.started_at = core::utc_now_iso8601();
  pipeline::VideoPipeline vp(engine, sinks, video.pipeline);
  return vp.run(source, info, stop, progress);
}

}  // namespace framescribe::serve
