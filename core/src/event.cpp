#include "framescribe/core/event.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "framescribe/core/text_sanitizer.h"

namespace framescribe::core {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kComplete:
      return "complete";
    case RunStatus::kStopped:
      return "stopped";
    case RunStatus::kPartial:
      return "partial";
    case RunStatus::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string sanitize_text(std::string_view text) {
  // One definition for events, summaries and the streamed answers of `ask`.
  TextSanitizer sanitizer;
  std::string out = sanitizer.feed(text);
  out += sanitizer.finish();
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
