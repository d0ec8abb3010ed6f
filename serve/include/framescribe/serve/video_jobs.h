// The summaries job API: whole videos summarised on the server, as `framescribe summarize` does
// (the same VideoPipeline, sinks and summary step), with the host's engine shared with chat.
//
//   VideoJobs jobs(host, limits, {.jobs_dir = "/var/tmp/fs-jobs", .max_running = 1});
//   jobs.add_routes(server);          // the routes below, on an http::Server before start_api()
//   std::string id = json(jobs.submit(R"({"source": "upload:ab12..."})"))["id"];
//   jobs.status(id);                  // JSON text: status, progress, events, summary, files
//
// Routes (JSON bodies, errors in the OpenAI envelope):
//   POST   /v1/videos/summaries            {source, sampling, packing, prompts, formats, ...}
//                                          -> 202 {id, status: "queued", ...}; 429 when full
//   GET    /v1/videos/summaries/{id}       -> the job (404 unknown id)
//   DELETE /v1/videos/summaries/{id}       -> cancels (stop flag), answers the final state
//   GET    /v1/videos/summaries/{id}/files/{name}  -> a file the job wrote (only those)
//   POST   /v1/videos/uploads              raw video body -> 201 {id}; a job names "upload:ID"
//   GET    /                               the web page (serve/web/index.html, embedded)
// The request's fields are documented in serve/README.md ("The summaries job API").
//
// Rules: jobs run on `max_running` threads of their own, at most `max_queued` wait (more: 429
// with Retry-After); each window holds the engine's gate only while it runs. Outputs go to
// <jobs_dir>/<id>/; finished jobs stay in memory with their results, the oldest dropped (files
// too) beyond `max_kept`. Sources: as video_part.h's resolve_video_source, or an upload.
// Thread-safety: every member is thread-safe. The destructor cancels running and queued jobs
// and joins the threads (a running window finishes first, an abandoned one returns early).
// Errors: ApiError (400 bad request naming the field, 404 unknown job or file, 413 upload too
// large, 429 queue full).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/model_host.h"

namespace framescribe::http {
class Server;
}

namespace framescribe::serve {

struct VideoJobOptions {
  std::filesystem::path jobs_dir;  // empty: a new private temp dir, removed by the destructor
  int max_running = 1;             // jobs running at once
  int max_queued = 16;             // jobs waiting at most
  int max_kept = 64;               // finished jobs kept, with their files
  std::int64_t max_upload_bytes = 512ll << 20;  // one upload (the route's body limit)
  int max_uploads = 16;                         // uploads kept (the oldest is removed beyond)
};

class VideoJobs {
 public:
  VideoJobs(ModelHost& host, ServeLimits limits, VideoJobOptions options = {});
  ~VideoJobs();
  VideoJobs(const VideoJobs&) = delete;
  VideoJobs& operator=(const VideoJobs&) = delete;

  // JSON texts in and out; throw ApiError.
  std::string submit(std::string_view request_json);
  std::string status(const std::string& id) const;
  std::string cancel(const std::string& id);
  // The path of a file job `id` wrote, by its name ("clip.srt"); 404 for anything else.
  std::filesystem::path file(const std::string& id, const std::string& name) const;
  // Stores an uploaded video; returns {"id", "bytes"}.
  std::string upload(std::string_view bytes);

  // Adds the routes above (the header's list) to `server` (before it starts).
  void add_routes(http::Server& server);
  const std::filesystem::path& jobs_dir() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The embedded web page (serve/web/index.html) and its Content-Security-Policy.
std::string_view video_page_html();
extern const char* const kVideoPageCsp;

}  // namespace framescribe::serve
