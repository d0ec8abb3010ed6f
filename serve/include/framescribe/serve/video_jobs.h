// The summaries job API: whole videos summarised on the server, as `framescribe summarize` does
// (the same VideoPipeline, sinks and summary step), with the host's engine shared with chat.
//
//   VideoJobs jobs(host, limits, {.jobs_dir = "/var/tmp/fs-jobs", .max_running = 1});
//   jobs.add_routes(api.http(), [&](std::string e, http::RequestHandler h) {
//     return api.counted(std::move(e), std::move(h));   // the routes below, before start()
//   });
//   std::string id = json(jobs.submit(R"({"source": "upload:ab12..."})"))["id"];
//   jobs.status(id);                  // JSON text: status, progress, events, summary, files
//
// Routes (JSON bodies, errors in the OpenAI envelope):
//   POST   /v1/videos/summaries            {source, sampling, packing, prompts, formats, ...}
//                                          -> 202 {id, status: "queued", ...}; 429 when full
//   GET    /v1/videos/summaries/{id}       -> the job (404 unknown id)
//   DELETE /v1/videos/summaries/{id}       -> cancels (stop flag), answers the final state
//   GET    /v1/videos/summaries/{id}/files/{name}  -> a file the job wrote (only those)
//   POST   /v1/videos/uploads?name=F       raw video body -> 201 {id}; a job names "upload:ID"
//   GET    /                               the web page (serve/web/index.html, embedded)
// The request (every field but source optional; unknown fields ignored; a wrong type or value
// is a 400 naming the field). Defaults are summarize's with the served model's framescribe.json:
//   source     "clip.mp4" (under --allow-path), "https://...", "data:video/mp4;base64,...",
//              or "upload:ID" (from POST /v1/videos/uploads)
//   sampling   {fps | every, max_frames, start, end, max_gap (seconds), max_edge (px)}
//   packing    {window_seconds, max_frames_per_window, overlap, carry_previous, carry_tokens,
//               context}
//   prompts    {instruction (summarize's --prompt), summary (--summary-prompt), system}
//   max_tokens, temperature, top_p, seed, summary (false: --no-summary)
//   formats    ["jsonl", "srt", "vtt", "md", "html"] or "jsonl,srt" (default: all five)
// The job: {id, status (queued running done failed cancelled), source, created, started,
// finished, progress {frames, frames_described, frames_skipped, windows_done, windows_total
// (null until done), media_done_s, media_end_s, percent, summarizing}, options, error, and
// when finished: events [{start, end, text, window, timed}], summary, files {jsonl: URL, ...}}.
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
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "framescribe/serve/chat_service.h"
#include "framescribe/serve/model_host.h"

#include "framescribe/http/server.h"

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
  // Stores an uploaded video named `name` (the file's name: the window prompt's {video} and
  // the output files' names, as summarize names them); returns {"id", "bytes", "name", "source"}.
  std::string upload(std::string_view bytes, const std::string& name = {});

  // Adds the routes above (the header's list) to `server` (before it starts). `wrap`, when set,
  // wraps each handler with its endpoint name (ApiServer::counted: metrics and errors).
  using RouteWrapper = std::function<http::RequestHandler(std::string, http::RequestHandler)>;
  void add_routes(http::Server& server, const RouteWrapper& wrap = {});
  const std::filesystem::path& jobs_dir() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The embedded web page (serve/web/index.html) and its Content-Security-Policy.
std::string_view video_page_html();
extern const char* const kVideoPageCsp;

}  // namespace framescribe::serve
