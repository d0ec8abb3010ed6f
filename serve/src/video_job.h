// Inside the job API (video_jobs.h): one job's state, its request parsed, and the Impl the
// routes and the worker threads share. Private to serve/src.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "framescribe/core/event.h"
#include "framescribe/core/stop.h"
#include "framescribe/pipeline/video_pipeline.h"
#include "framescribe/pixtral/window_engine.h"
#include "framescribe/serve/video_jobs.h"
#include "framescribe/serve/video_part.h"
#include "summarize_run.h"

namespace framescribe::serve {

struct VideoJob {
  std::string id;
  VideoSource source;
  SummarizeVideo video;                  // url, sampling, packing, formats, out_dir
  pixtral::PixtralWindowOptions window;  // system, answer tokens, sampling
  nlohmann::ordered_json request;        // the options as understood (echoed back)
  core::StopFlag stop;

  mutable std::mutex mu;          // guards everything below
  std::string status = "queued";  // queued running done failed cancelled
  std::string run_status;         // complete partial stopped failed (the pipeline's)
  pipeline::PipelineStats stats;
  std::vector<core::Event> events;
  std::int64_t windows_total = -1;  // known once done
  std::string summary, error;
  std::vector<std::string> files;  // names written, when finished
  std::int64_t created_ns = 0, started_ns = 0, finished_ns = 0;
  bool finished = false;
};

// The request JSON as a job (everything but the id, the output dir and the source's upload
// lookup). Throws ApiError 400 naming the field.
struct ParsedJob {
  std::string source;
  nlohmann::ordered_json echo;
  SummarizeVideo video;
  pixtral::PixtralWindowOptions window;
};
ParsedJob parse_job_request(std::string_view body, const ModelHost& host);

// The job's state as the GET answer.
nlohmann::ordered_json job_json(const VideoJob& job);

struct VideoJobs::Impl {
  ModelHost& host;
  ServeLimits limits;
  VideoJobOptions opt;
  std::filesystem::path dir;
  bool own_dir = false;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::shared_ptr<VideoJob>> jobs;
  std::deque<std::string> order;  // ids, oldest first (for max_kept)
  std::deque<std::shared_ptr<VideoJob>> queue;
  std::deque<std::string> uploads;                  // ids, oldest first
  std::map<std::string, std::string> upload_names;  // id -> the uploaded file's name
  bool closing = false;
  std::vector<std::thread> workers;

  Impl(ModelHost& h, ServeLimits l, VideoJobOptions o);
  void work();
  void run(VideoJob& job);
  void forget_old();  // under mu
  std::shared_ptr<VideoJob> find(const std::string& id) const;
};

}  // namespace framescribe::serve
