// One video through the pipeline as `framescribe summarize` runs it: the decoder's
// VideoFrameSource, the sinks of the formats asked for (files <out_dir>/<stem>.<format>),
// RunInfo as summarize fills it, pipeline::VideoPipeline. The serve job API calls it;
// cmd_summarize could call it per video (its open_video + make_sink loop + file_run_info +
// VideoPipeline lines).
//
//   SummarizeVideo v;  v.url = "clip.mp4";  v.name = "clip.mp4";  v.stem = "clip";
//   v.sampling.mode = decoder::SamplingMode::kFixedRate;  v.out_dir = dir;  v.formats = {"jsonl"};
//   pipeline::RunResult r = summarize_video(engine, v, stop, on_progress);
//
// Errors: what VideoFrameSource, the sinks and VideoPipeline::run throw (framescribe::Error).
// Thread-safety: one call per engine at a time (the engine's own rule).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framescribe/core/sink.h"
#include "framescribe/core/stop.h"
#include "framescribe/decoder/ffmpeg_source.h"
#include "framescribe/decoder/output_size.h"
#include "framescribe/decoder/sampler.h"
#include "framescribe/pipeline/video_pipeline.h"

namespace framescribe::serve {

struct SummarizeVideo {
  std::string url;         // what the decoder opens (checked by the caller)
  std::string name;        // shown in outputs (redacted)
  std::string stem;        // output file names
  std::string model_name;  // for the reports
  decoder::SourceOptions source;
  decoder::SamplingOptions sampling;
  decoder::OutputSizing sizing;
  pipeline::PipelineOptions pipeline;
  std::vector<std::string> formats;  // jsonl, srt, vtt, md, html (console: none here)
  std::filesystem::path out_dir;
  std::vector<core::EventSink*> extra_sinks;  // after the file sinks (not owned)
};

pipeline::RunResult summarize_video(pipeline::WindowEngine& engine, const SummarizeVideo& video,
                                    core::StopFlag& stop,
                                    const pipeline::ProgressCallback& progress = {});

}  // namespace framescribe::serve
