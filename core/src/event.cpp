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

std::string format_utc(std::int64_t unix_ns, UtcFormat format) {
  constexpr std::int64_t kNsPerMs = 1'000'000, kMsPerS = 1000;
  std::int64_t ms = unix_ns / kNsPerMs;
  if (unix_ns < 0 && ms * kNsPerMs != unix_ns) --ms;  // floor
  std::int64_t s = ms / kMsPerS;
  if (ms < 0 && s * kMsPerS != ms) --s;
  const auto t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const char pattern[] = {'%', 'Y', '-', '%', 'm', '-', '%', 'd', format.separator,
                          '%', 'H', ':', '%', 'M', ':', '%', 'S', '\0'};
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, pattern, &tm);
  if (format.milliseconds)
    n += static_cast<std::size_t>(
        std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms - s * kMsPerS)));
  return std::string(buf, n) + "Z";
}

std::string utc_now_iso8601() {
  return format_utc(static_cast<std::int64_t>(std::time(nullptr)) * 1'000'000'000);
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
