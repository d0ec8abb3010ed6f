#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"
#include "framescribe/core/event.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"
#include "jpeg_thumbnail.h"

namespace framescribe::sinks {
namespace {

std::string iso_utc(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf,
                static_cast<int>((ns % 1'000'000'000 + 1'000'000'000) % 1'000'000'000 / 1'000'000));
  return out;
}

class AlertLog final : public AlertDelivery {
 public:
  explicit AlertLog(std::filesystem::path path) : path_(std::move(path)) {
    f_ = std::fopen(path_.c_str(), "ab");
    FS_CHECK(f_ != nullptr, kIo, path_.string() << ": cannot open the alert log for appending");
  }
  ~AlertLog() override {
    if (f_) std::fclose(f_);
  }
  std::string_view name() const override { return "alert log"; }
  bool deliver(const AlertRecord& a) override {
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

std::string alert_json(const AlertRecord& a) {
  nlohmann::ordered_json j;
  j["type"] = "alert";
  j["stream"] = a.stream;
  j["rule"] = a.rule;
  j["question"] = a.question;
  j["score"] = a.score;
  j["hits"] = a.hits;
  j["of"] = a.of;
  j["window"] = a.window_id;
  j["pts"] = core::ns_to_seconds(a.pts_ns);
  j["time"] = iso_utc(a.wall_clock_ns);
  j["wall_clock_ns"] = a.wall_clock_ns;
  if (!a.snapshot_path.empty()) j["snapshot"] = a.snapshot_path;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<AlertDelivery> make_alert_log(const std::filesystem::path& path) {
  return std::make_unique<AlertLog>(path);
}

std::string write_snapshot_jpeg(const core::Image& image, const std::filesystem::path& path) {
  JpegThumbnailer enc(image.width_px(), 90);
  const Jpeg j = enc.encode(image.view());
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(j.bytes.data()),
              static_cast<std::streamsize>(j.bytes.size()));
    FS_CHECK(out.good(), kIo, tmp.string() << ": cannot write the snapshot");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  FS_CHECK(!ec, kIo, path.string() << ": cannot write the snapshot: " << ec.message());
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
