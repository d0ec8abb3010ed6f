#include <chrono>
#include <memory>
#include <thread>

#include <curl/curl.h>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/sinks/alerts.h"

namespace framescribe::sinks {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

class Webhook final : public AlertDelivery {
 public:
  explicit Webhook(WebhookOptions o) : opt_(std::move(o)), origin_(url_origin(opt_.url)) {
    FS_CHECK(opt_.url.rfind("http://", 0) == 0 || opt_.url.rfind("https://", 0) == 0,
             kInvalidArgument, "webhook " << origin_ << ": the URL must start with http(s)://");
    FS_CHECK(opt_.timeout_ms > 0 && opt_.retries >= 0, kInvalidArgument,
             "webhook: timeout must be > 0 and retries >= 0");
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  std::string_view name() const override { return "webhook"; }
  bool deliver(const core::Alert& a) override {
    const std::string body = alert_json(a);
    long wait_ms = 200;
    for (int attempt = 0; attempt <= opt_.retries; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        wait_ms *= 2;
      }
      CurlPtr c(curl_easy_init());
      if (!c) break;
      SlistPtr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
      curl_easy_setopt(c.get(), CURLOPT_URL, opt_.url.c_str());
      curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, opt_.timeout_ms);
      curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, &discard);
      const CURLcode rc = curl_easy_perform(c.get());
      long status = 0;
      curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
      if (rc == CURLE_OK && status >= 200 && status < 300) return true;
      FS_LOG_WARN("webhook " << origin_ << ": attempt " << attempt + 1 << " failed ("
                             << (rc != CURLE_OK ? curl_easy_strerror(rc)
                                                : ("HTTP " + std::to_string(status)).c_str())
                             << ")");
    }
    ++failures_;
    return false;
  }

 private:
  WebhookOptions opt_;
  std::string origin_;
};

}  // namespace

std::unique_ptr<AlertDelivery> make_webhook(WebhookOptions options) {
  return std::make_unique<Webhook>(std::move(options));
}

}  // namespace framescribe::sinks
