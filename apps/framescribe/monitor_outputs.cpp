#include "monitor_outputs.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "framescribe/core/source_name.h"

namespace framescribe::apps {

std::string iso_utc(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso_utc_ms(std::int64_t ns) {
  std::int64_t ms = ns / 1'000'000;
  if (ns < 0 && ms * 1'000'000 != ns) --ms;  // floor: 1969 times stay ordered
  const std::int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::string out = iso_utc(s * 1'000'000'000);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms - s * 1000));
  out.insert(out.size() - 1, frac);
  return out;
}

std::string stream_file_stem(const std::string& url, const std::string& configured_name,
                             std::set<std::string>& used) {
  const std::string from = configured_name.empty() ? core::source_stem(url) : configured_name;
  std::string s;
  for (char c : from)
    s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  // No leading dots or dashes (hidden files, options), no name made only of dots.
  while (!s.empty() && (s.front() == '.' || s.front() == '-' || s.front() == '_'))
    s.erase(s.begin());
  if (s.size() > 60) s = s.substr(0, 60);
  if (s.empty()) s = "stream";
  const std::string base = s;
  for (int k = 2; !used.insert(s).second; ++k) s = base + "-" + std::to_string(k);
  return s;
}

std::string rule_file_part(const std::string& rule) {
  std::string s;
  for (char c : rule) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return s.empty() ? "rule" : s.substr(0, 40);
}

}  // namespace framescribe::apps
