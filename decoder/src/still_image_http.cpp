// Image URLs with libcurl: http and https only (redirects included), connect and total
// timeouts, a redirect limit and a size cap enforced while the body arrives.
#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "framescribe/core/error.h"
#include "still_image_internal.h"

namespace framescribe::decoder::detail {
namespace {

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct Body {
  std::vector<std::uint8_t> bytes;
  std::int64_t max_bytes = 0;
  bool too_large = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t n = size * nmemb;
  if (static_cast<std::int64_t>(body->bytes.size() + n) > body->max_bytes) {
    body->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  body->bytes.insert(body->bytes.end(), data, data + n);
  return n;
}

// curl's own message without anything that came from the URL's user:password part.
std::string scrub(std::string message, const std::string& url) {
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return message;
  std::size_t begin = scheme_end + 3;
  std::size_t end = url.find_first_of("/?#", begin);
  std::string authority = url.substr(begin, end == std::string::npos ? end : end - begin);
  std::size_t at = authority.rfind('@');
  if (at == std::string::npos) return message;
  const std::string userinfo = authority.substr(0, at);
  for (std::string_view part :
       {std::string_view(userinfo), std::string_view(userinfo).substr(0, userinfo.find(':'))}) {
    if (part.empty()) continue;
    for (std::size_t p; (p = message.find(part)) != std::string::npos;)
      message.replace(p, part.size(), "***");
  }
  return message;
}

template <typename T>
void set(CURL* h, CURLoption opt, T value, const std::string& name) {
  CURLcode rc = curl_easy_setopt(h, opt, value);
  FS_CHECK(rc == CURLE_OK, kInternal,
           name << ": libcurl refused an option (" << curl_easy_strerror(rc) << ")");
}

}  // namespace

std::vector<std::uint8_t> fetch_url(const std::string& url, const std::string& name,
                                    const StillImageOptions& options) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  CurlPtr curl(curl_easy_init());
  FS_CHECK(curl != nullptr, kInternal, name << ": cannot start libcurl");
  CURL* h = curl.get();
  Body body;
  body.max_bytes = options.max_bytes;
  char errbuf[CURL_ERROR_SIZE] = {};

  set(h, CURLOPT_URL, url.c_str(), name);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the string forms
  set(h, CURLOPT_PROTOCOLS_STR, "http,https", name);
  set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", name);
#else
  set(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS), name);
  set(h, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS), name);
#endif
  set(h, CURLOPT_FOLLOWLOCATION, options.max_redirects > 0 ? 1L : 0L, name);
  set(h, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects), name);
  set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms), name);
  set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout_ms), name);
  // Refuses at once when Content-Length says too much; on_data enforces it for the rest.
  set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes), name);
  set(h, CURLOPT_NOSIGNAL, 1L, name);  // no SIGALRM for timeouts: safe in threads
  set(h, CURLOPT_FAILONERROR, 1L, name);
  set(h, CURLOPT_ERRORBUFFER, errbuf, name);
  set(h, CURLOPT_USERAGENT, "framescribe", name);
  set(h, CURLOPT_WRITEFUNCTION, &on_data, name);
  set(h, CURLOPT_WRITEDATA, static_cast<void*>(&body), name);

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  std::string detail = scrub(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), url);

  if (rc != CURLE_OK) {
    std::ostringstream msg;
    ErrorCode code = ErrorCode::kIo;
    msg << name << ": ";
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      msg << "timed out (connect limit " << options.connect_timeout_ms << " ms, total limit "
          << options.total_timeout_ms << " ms): " << detail;
    } else if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && body.too_large)) {
      code = ErrorCode::kInvalidArgument;
      msg << "larger than the limit of " << options.max_bytes << " bytes for an image";
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
      if (status == 404 || status == 410) code = ErrorCode::kNotFound;
      msg << (code == ErrorCode::kNotFound ? "not found" : "the server refused it") << " (HTTP "
          << status << ")";
    } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
      msg << "more than " << options.max_redirects << " redirects";
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
      code = ErrorCode::kUnsupported;
      msg << "only http and https URLs are followed (" << detail << ")";
    } else {
      msg << "download failed: " << detail;
    }
    throw Error(code, msg.str());
  }
  FS_CHECK(
      status < 300, kIo,
      name << ": the server answered HTTP " << status
           << (status >= 300 && status < 400 ? " (a redirect, but redirects are disabled)" : ""));
  FS_CHECK(!body.bytes.empty(), kInvalidArgument,
           name << ": the server sent an empty body (HTTP " << status << "), not an image");
  return std::move(body.bytes);
}

}  // namespace framescribe::decoder::detail
