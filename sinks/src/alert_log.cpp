#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"
#include "framescribe/sinks/atomic_file.h"
#include "jpeg_thumbnail.h"

namespace framescribe::sinks {
namespace {

class AlertLog final : public AlertDelivery {
 public:
  explicit AlertLog(std::filesystem::path path)
      : path_(std::move(path)), f_(open_append_file(path_, "the alert log")) {}
  ~AlertLog() override {
    if (f_) std::fclose(f_);
  }
  std::string_view name() const override { return "alert log"; }
  bool deliver(const core::Alert& a) override {
    const std::string line = alert_json(a) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0) {
      ++failures_;
      FS_LOG_ERROR(path_.string() << ": cannot write an alert");
      return false;
    }
    return true;
  }

 private:
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
};

}  // namespace

std::string alert_json(const core::Alert& a) {
  nlohmann::ordered_json j;
  j["type"] = "alert";
  j["stream"] = a.stream;
  j["rule"] = a.rule;
  j["question"] = a.question;
  j["score"] = a.score;
  j["hits"] = a.hits;
  j["of"] = a.of;
  j["window"] = a.window_id;
  j["pts"] = core::media_seconds(a.pts_ns);
  j["time"] = core::format_utc(a.wall_clock_ns, {.milliseconds = true});
  j["wall_clock_ns"] = a.wall_clock_ns;
  if (!a.snapshot_path.empty()) j["snapshot"] = a.snapshot_path;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<AlertDelivery> make_alert_log(const std::filesystem::path& path) {
  return std::make_unique<AlertLog>(path);
}

std::FILE* open_append_file(const std::filesystem::path& path, std::string_view what) {
  // O_NONBLOCK: opening a FIFO planted there must not block (it is refused just below).
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) {
    const int err = errno;
    FS_FAIL(kIo, path.string() << ": cannot open " << what << " for appending: "
                               << (err == ELOOP ? std::string("it is a symbolic link, and output "
                                                              "files are never written through "
                                                              "one; remove it or choose another "
                                                              "output directory")
                                                : std::string(std::strerror(err))));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    FS_FAIL(kIo, path.string() << ": cannot open " << what
                               << " for appending: not a regular file; remove it or choose "
                                  "another output directory");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE* f = ::fdopen(fd, "ab");
  if (f == nullptr) {
    ::close(fd);
    FS_FAIL(kIo, path.string() << ": cannot open " << what << " for appending");
  }
  return f;
}

std::string write_snapshot_jpeg(const core::Image& image, const std::filesystem::path& path) {
  JpegThumbnailer enc(image.width_px(), 90);
  const Jpeg j = enc.encode(image.view());
  // AtomicFile: a fresh temporary file (O_EXCL, so never through a planted link) renamed over
  // the target, which replaces a symbolic link there instead of following it.
  AtomicFile out(path);
  out.write(std::string_view(reinterpret_cast<const char*>(j.bytes.data()), j.bytes.size()));
  out.commit();
  return path.string();
}

std::vector<std::uint8_t> encode_jpeg(const core::Image& image, int quality) {
  JpegThumbnailer enc(image.width_px(), quality);
  return enc.encode(image.view()).bytes;
}

std::string url_origin(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return "(url)";
  const auto start = scheme + 3;
  auto end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  std::string_view host = url.substr(start, end - start);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  return std::string(url.substr(0, start)) + std::string(host);
}

}  // namespace framescribe::sinks
