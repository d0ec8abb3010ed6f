#include "framescribe/core/event.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace framescribe::core {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kComplete:
      return "complete";
    case RunStatus::kStopped:
      return "stopped";
    case RunStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string sanitize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c >= 0x20 && c != 0x7F) {
        out += static_cast<char>(c);
      } else if (c == '\n' || c == '\t') {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Length and the valid range of the second byte (RFC 3629: no overlongs, no surrogates).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const unsigned char b = p[i + k];
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      // C1 controls (U+0080..U+009F) are removed too.
      if (!(len == 2 && c == 0xC2 && p[i + 1] < 0xA0)) out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_timestamp(std::int64_t ns) {
  if (ns == kNoTimestamp) return "--:--.-";
  const bool negative = ns < 0;
  // Round to tenths of a second, half away from zero.
  const std::uint64_t mag =
      negative ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  const std::uint64_t tenths = (mag + 50'000'000) / 100'000'000;
  const std::uint64_t total_s = tenths / 10;
  const unsigned frac = static_cast<unsigned>(tenths % 10);
  const std::uint64_t h = total_s / 3600, m = (total_s / 60) % 60, s = total_s % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%s%llu:%02llu:%02llu.%u", negative ? "-" : "",
                  static_cast<unsigned long long>(h), static_cast<unsigned long long>(m),
                  static_cast<unsigned long long>(s), frac);
  } else {
    std::snprintf(buf, sizeof buf, "%s%02llu:%02llu.%u", negative ? "-" : "",
                  static_cast<unsigned long long>(m), static_cast<unsigned long long>(s), frac);
  }
  return buf;
}

}  // namespace framescribe::core
