// The summaries jobs: a bounded queue, worker threads that run summarize's pipeline on the
// host's engine (a gate lease per window; with --parallel N a scheduler client of its own),
// results kept in memory (video_jobs.h).
#include "framescribe/serve/video_jobs.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "framescribe/core/error.h"
#include "framescribe/core/frame.h"
#include "framescribe/core/log.h"
#include "framescribe/core/sink.h"
#include "framescribe/serve/api_error.h"
#include "video_engine.h"
#include "video_job.h"

namespace framescribe::serve {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_id() {
  static std::mutex mu;
  static std::random_device rd;
  static std::mt19937_64 gen(rd() ^ (static_cast<std::uint64_t>(rd()) << 32));
  std::lock_guard lock(mu);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

bool valid_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The sink that keeps a job's events and summary for its status answer.
class JobSink final : public core::EventSink {
 public:
  explicit JobSink(VideoJob& job) : job_(job) {}
  std::string_view name() const override { return "job"; }
  void begin(const core::RunInfo&) override {}
  void on_window(const core::WindowResult& w) override {
    std::lock_guard lock(job_.mu);
    job_.events.insert(job_.events.end(), w.events.begin(), w.events.end());
  }
  void finish(const core::RunEnd& end) override {
    std::lock_guard lock(job_.mu);
    job_.summary = end.summary;
    job_.run_status = std::string(core::to_string(end.status));
    job_.windows_total = end.windows;
    if (!end.error.empty()) job_.error = end.error;
  }
  void abort() noexcept override {}

 private:
  VideoJob& job_;
};

double seconds_or_null(std::int64_t ns) {
  return core::ns_to_seconds(ns);
}

}  // namespace

json job_json(const VideoJob& job) {
  std::lock_guard lock(job.mu);
  const std::string base = "/v1/videos/summaries/" + job.id;
  json j = {{"id", job.id}, {"object", "video.summary"}, {"status", job.status}};
  j["source"] = job.request.value("source", job.source.display);
  j["name"] = job.source.display;
  j["created"] = job.created_ns / 1'000'000'000;
  j["started"] = job.started_ns ? json(job.started_ns / 1'000'000'000) : json(nullptr);
  j["finished"] = job.finished_ns ? json(job.finished_ns / 1'000'000'000) : json(nullptr);
  const pipeline::PipelineStats& s = job.stats;
  json progress = {
      {"frames", s.frames_sampled},
      {"frames_described", s.frames_described},
      {"frames_skipped", s.frames_skipped},
      {"windows_done", s.windows_done},
      {"windows_total", job.windows_total >= 0 ? json(job.windows_total) : json(nullptr)},
      {"media_done_s", seconds_or_null(s.media_done_ns)},
      {"media_end_s", s.media_end_ns == core::kNoTimestamp ? json(nullptr)
                                                           : json(seconds_or_null(s.media_end_ns))},
      {"summarizing", s.summarizing}};
  if (job.status == "done") {
    progress["percent"] = 100;
  } else if (s.media_end_ns != core::kNoTimestamp && s.media_end_ns > 0) {
    progress["percent"] =
        std::min(99.0, 100.0 * static_cast<double>(s.media_done_ns) / s.media_end_ns);
  }
  j["progress"] = progress;
  j["options"] = job.request;
  if (!job.run_status.empty()) j["run_status"] = job.run_status;
  if (!job.error.empty()) j["error"] = job.error;
  if (job.finished) {
    json events = json::array();
    for (const core::Event& e : job.events)
      events.push_back({{"start", core::media_seconds(e.start_ns)},
                        {"end", core::media_seconds(e.end_ns)},
                        {"text", e.text},
                        {"window", e.window_id},
                        {"timed", e.timed}});
    j["events"] = events;
    j["summary"] = job.summary;
    json files = json::object();
    for (const std::string& f : job.files) {
      const std::string ext = fs::path(f).extension().string();
      files[ext.empty() ? f : ext.substr(1)] = base + "/files/" + f;
    }
    j["files"] = files;
  }
  return j;
}

VideoJobs::Impl::Impl(ModelHost& h, ServeLimits l, VideoJobOptions o)
    : host(h), limits(std::move(l)), opt(std::move(o)) {
  FS_CHECK(opt.max_running >= 1 && opt.max_queued >= 1 && opt.max_kept >= 1, kInvalidArgument,
           "video jobs: max_running and max_queued and max_kept must be >= 1");
  if (opt.jobs_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "framescribe-jobs-XXXXXX").string();
    FS_CHECK(::mkdtemp(tmpl.data()) != nullptr, kIo, "cannot create a temporary jobs directory");
    dir = tmpl;
    own_dir = true;
  } else {
    std::error_code ec;
    fs::create_directories(opt.jobs_dir, ec);
    FS_CHECK(!ec && fs::is_directory(opt.jobs_dir), kIo,
             "--jobs-dir " << opt.jobs_dir.string() << ": cannot create it");
    dir = fs::canonical(opt.jobs_dir);
  }
  fs::create_directories(dir / "uploads");
  for (int i = 0; i < opt.max_running; ++i) workers.emplace_back([this] { work(); });
}

std::shared_ptr<VideoJob> VideoJobs::Impl::find(const std::string& id) const {
  std::lock_guard lock(mu);
  const auto it = valid_id(id) ? jobs.find(id) : jobs.end();
  if (it == jobs.end())
    throw ApiError(404, "no video job with id '" + id.substr(0, 64) + "'", "id");
  return it->second;
}

void VideoJobs::Impl::forget_old() {
  // Finished jobs beyond max_kept, oldest first, with their files.
  std::size_t finished = 0;
  for (const auto& [id, j] : jobs) {
    std::lock_guard l(j->mu);
    finished += j->finished ? 1 : 0;
  }
  for (auto it = order.begin(); it != order.end() && finished > std::size_t(opt.max_kept);) {
    const auto job = jobs.at(*it);
    bool done;
    {
      std::lock_guard l(job->mu);
      done = job->finished;
    }
    if (!done) {
      ++it;
      continue;
    }
    std::error_code ec;
    fs::remove_all(dir / *it, ec);
    jobs.erase(*it);
    it = order.erase(it);
    --finished;
  }
}

void VideoJobs::Impl::work() {
  for (;;) {
    std::shared_ptr<VideoJob> job;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return closing || !queue.empty(); });
      if (queue.empty()) return;  // closing, nothing left
      job = queue.front();
      queue.pop_front();
    }
    run(*job);
    std::lock_guard lock(mu);
    forget_old();
  }
}

void VideoJobs::Impl::run(VideoJob& job) {
  {
    std::lock_guard l(job.mu);
    if (job.stop.stop_requested()) {  // cancelled while queued
      job.status = "cancelled";
      job.finished = true;
      job.finished_ns = now_ns();
      return;
    }
    job.status = "running";
    job.started_ns = now_ns();
  }
  std::string status = "done", error;
  // A job submitted while the model loads starts once it is loaded.
  while (!host.loaded.load() && !job.stop.stop_requested())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  try {
    auto pixtral = make_host_window_engine(host, job.window, "video job " + job.id);
    GatedWindowEngine gated(*pixtral, host.gate, job.stop, /*lease_per_window=*/!host.batched());
    JobSink sink(job);
    SummarizeVideo v = job.video;
    v.model_name = pixtral->model_name();
    v.extra_sinks = {&sink};
    const pipeline::RunResult r =
        summarize_video(gated, v, job.stop, [&](const pipeline::PipelineStats& s) {
          std::lock_guard l(job.mu);
          job.stats = s;
        });
    std::lock_guard l(job.mu);
    job.stats = r.stats;
    if (r.end.status == core::RunStatus::kStopped || job.stop.stop_requested()) {
      status = "cancelled";
    } else if (r.end.status == core::RunStatus::kFailed) {
      status = "failed";
      error = r.end.error;
    }
  } catch (const std::exception& e) {
    status = job.stop.stop_requested() ? "cancelled" : "failed";
    error = e.what();
  }
  std::vector<std::string> files;
  for (const std::string& f : job.video.formats) {
    const std::string name = job.video.stem + "." + f;
    std::error_code ec;
    if (fs::is_regular_file(job.video.out_dir / name, ec)) files.push_back(name);
  }
  std::lock_guard l(job.mu);
  job.status = status;
  if (!error.empty()) job.error = error;
  job.files = std::move(files);
  job.finished = true;
  job.finished_ns = now_ns();
  FS_LOG_INFO("video job " << job.id << ": " << status << ", " << job.events.size() << " events"
                           << (error.empty() ? "" : "; ") << error);
}

VideoJobs::VideoJobs(ModelHost& host, ServeLimits limits, VideoJobOptions options)
    : impl_(std::make_unique<Impl>(host, std::move(limits), std::move(options))) {}

VideoJobs::~VideoJobs() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
    for (auto& [id, job] : impl_->jobs) job->stop.request(core::StopFlag::kAbandon);
  }
  impl_->cv.notify_all();
  for (std::thread& t : impl_->workers) t.join();
  if (impl_->own_dir) {
    std::error_code ec;
    fs::remove_all(impl_->dir, ec);
  }
}

const fs::path& VideoJobs::jobs_dir() const {
  return impl_->dir;
}

std::string VideoJobs::submit(std::string_view request_json) {
  ParsedJob p = parse_job_request(request_json, impl_->host);
  auto job = std::make_shared<VideoJob>();
  job->id = random_id();
  if (p.source.rfind("upload:", 0) == 0) {
    const std::string up = p.source.substr(7);
    const fs::path file = impl_->dir / "uploads" / up;
    std::error_code ec;
    if (!valid_id(up) || !fs::is_regular_file(file, ec))
      throw ApiError(400, "source: no upload with id '" + up.substr(0, 64) + "'", "source");
    job->source.url = file.string();
    std::lock_guard lock(impl_->mu);
    const auto name = impl_->upload_names.find(up);
    // Named as the uploaded file was (the window prompt's {video}, the output files).
    job->source.display = name != impl_->upload_names.end() ? name->second : "video";
    job->source.stem = fs::path(job->source.display).stem().string();
  } else {
    job->source =
        resolve_video_source(p.source, impl_->limits, "source", impl_->opt.max_upload_bytes);
  }
  if (job->source.stem.empty()) job->source.stem = "video";
  p.echo["source"] = p.source.rfind("upload:", 0) == 0 ? p.source : job->source.display;
  job->request = std::move(p.echo);
  job->video = std::move(p.video);
  job->window = std::move(p.window);
  job->video.url = job->source.url;
  job->video.name = job->source.display;
  job->video.stem = job->source.stem;
  job->video.pipeline.packing.video_name = fs::path(job->source.display).filename().string();
  job->video.out_dir = impl_->dir / job->id;
  job->video.source.network_timeout_ms = impl_->limits.url_timeout_ms;
  job->created_ns = now_ns();
  std::string answer;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->closing) throw ApiError::unavailable("the server is shutting down");
    if (impl_->queue.size() >=
        static_cast<std::size_t>(impl_->opt.max_queued))  // waiting, not running
      throw ApiError::too_busy(5);
    std::error_code ec;
    fs::create_directories(job->video.out_dir, ec);
    if (ec) throw ApiError(500, "cannot create the job's output directory");
    impl_->jobs[job->id] = job;
    impl_->order.push_back(job->id);
    answer = job_json(*job).dump();  // "queued": before a worker can take it
    impl_->queue.push_back(job);
  }
  impl_->cv.notify_one();
  return answer;
}

std::string VideoJobs::status(const std::string& id) const {
  return job_json(*impl_->find(id)).dump();
}

std::string VideoJobs::cancel(const std::string& id) {
  const auto job = impl_->find(id);
  {
    std::lock_guard l(job->mu);
    if (job->finished) return job_json(*job).dump();  // nothing to cancel: the final state
  }
  job->stop.request(core::StopFlag::kAbandon);
  // Queued: the worker marks it when it comes to it; say so now. Running: wait for the window
  // in the engine to return (it was abandoned), at most the request's time.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      std::lock_guard l(job->mu);
      if (job->finished) break;
      if (job->status == "queued") {
        job->status = "cancelled";
        break;
      }
    }
    if (std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return job_json(*job).dump();
}

fs::path VideoJobs::file(const std::string& id, const std::string& name) const {
  const auto job = impl_->find(id);
  std::lock_guard l(job->mu);
  for (const std::string& f : job->files)
    if (f == name) return job->video.out_dir / f;
  throw ApiError(404, "job " + id + " has no file '" + name.substr(0, 128) + "'", "name");
}

std::string VideoJobs::upload(std::string_view bytes, const std::string& name) {
  if (bytes.empty()) throw ApiError(400, "the upload is empty: send the video as the body");
  if (static_cast<std::int64_t>(bytes.size()) > impl_->opt.max_upload_bytes)
    throw ApiError(
        413, "the upload is larger than " + std::to_string(impl_->opt.max_upload_bytes) + " bytes");
  const std::string id = random_id();
  const fs::path path = impl_->dir / "uploads" / id;
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) throw ApiError(500, "cannot store the upload");
  }
  std::lock_guard lock(impl_->mu);
  impl_->uploads.push_back(id);
  // Only a plain file name is kept: no directories, no control characters, not "." or "..".
  std::string shown = fs::path(name).filename().string();
  bool plain = !shown.empty() && shown.size() <= 200 && shown != "." && shown != "..";
  for (const unsigned char c : shown) plain = plain && c >= 0x20 && c != 0x7f;
  impl_->upload_names[id] = plain ? shown : "video";
  while (impl_->uploads.size() > static_cast<std::size_t>(impl_->opt.max_uploads)) {
    std::error_code ec;
    fs::remove(impl_->dir / "uploads" / impl_->uploads.front(), ec);
    impl_->upload_names.erase(impl_->uploads.front());
    impl_->uploads.pop_front();
  }
  return json{{"id", id},
              {"bytes", bytes.size()},
              {"name", impl_->upload_names[id]},
              {"source", "upload:" + id}}
      .dump();
}

}  // namespace framescribe::serve
