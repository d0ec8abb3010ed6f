#include "gst_url.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"
#include "framescribe/decoder/gst_source.h"
#include "gst_ptr.h"

namespace framescribe::decoder {

std::vector<std::string> secrets_of(const std::string& url) {
  std::vector<std::string> out;
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return out;
  const auto start = scheme + 3;
  const auto end = url.find_first_of("/?#", start);
  const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at != std::string::npos && at > start) {
    const std::string info = url.substr(start, at - start);
    out.push_back(info);
    if (const auto colon = info.find(':'); colon != std::string::npos && colon + 1 < info.size())
      out.push_back(info.substr(colon + 1));
  }
  const auto hash = url.find('#', start);
  if (hash != std::string::npos && url.size() - hash - 1 >= 4) out.push_back(url.substr(hash + 1));
  const auto q = url.find('?', start);
  if (q != std::string::npos && (hash == std::string::npos || q < hash)) {
    const std::string query =
        url.substr(q + 1, (hash == std::string::npos ? url.size() : hash) - q - 1);
    std::size_t p = 0;
    while (p <= query.size()) {
      const auto amp = std::min(query.find_first_of("&;", p), query.size());
      const std::string pair = query.substr(p, amp - p);
      const auto eq = pair.find('=');
      // The value, or a bare parameter ("?abcdef"), as core::redact_source hides them. Values
      // of a few characters (ch=1) would blank every digit of a message; they are no secret.
      const std::string value = eq == std::string::npos ? pair : pair.substr(eq + 1);
      if (value.size() >= 4) out.push_back(value);
      p = amp + 1;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::string scheme_of(const char* uri) {
  if (uri == nullptr) return {};
  GCharPtr p(gst_uri_get_protocol(uri));
  if (!p) return {};
  std::string s = p.get();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool network_scheme(const std::string& scheme) {
  static constexpr const char* kNetwork[] = {
      "http",  "https", "rtsp", "rtsps", "rtspt", "rtspu", "rtsph", "rtspv", "rtmp", "rtmps",
      "rtmpt", "srt",   "udp",  "rtp",   "tcp",   "mms",   "mmsh",  "mmst",  "mmsu"};
  for (const char* n : kNetwork)
    if (scheme == n) return true;
  return false;
}

std::string live_local_file(const std::string& url) {
  if (url.empty()) return {};
  if (!gst_uri_is_valid(url.c_str())) return url;  // a path
  if (scheme_of(url.c_str()) != "file") return {};
  GError* err = nullptr;
  GCharPtr path(g_filename_from_uri(url.c_str(), nullptr, &err));
  GErrorPtr owned(err);
  FS_CHECK(path != nullptr, kInvalidArgument,
           core::redact_source(url) << ": not a valid file:// URL (write file:///absolute/path)");
  return path.get();
}

void check_live_input(const std::string& url) {
  const std::string path = live_local_file(url);
  if (path.empty()) return;
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  FS_CHECK(std::filesystem::exists(st), kNotFound,
           path << ": no such file (check the path; a camera is given by its URL, e.g. "
                   "rtsp://host/stream)");
  FS_CHECK(std::filesystem::is_regular_file(st), kInvalidArgument,
           path << ": not a regular file (a video file, or a stream URL such as rtsp://)");
}

}  // namespace framescribe::decoder
