#include "framescribe/sinks/progress_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace framescribe::sinks {

std::string media_progress_text(const std::string& what, double at_s, double total_s,
                                long long sampled) {
  char buf[512];
  if (total_s > 0) {
    std::snprintf(buf, sizeof buf, "%s: %.1f / %.1f s (%.0f%%), %lld frames", what.c_str(), at_s,
                  total_s, 100.0 * std::min(1.0, at_s / total_s), sampled);
  } else {
    std::snprintf(buf, sizeof buf, "%s: %.1f s, %lld frames", what.c_str(), at_s, sampled);
  }
  return buf;
}

double progress_interval_s() {
  if (const char* env = std::getenv("FRAMESCRIBE_PROGRESS_INTERVAL");
      env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && std::isfinite(v) && v >= 0) return v;
  }
  return 10.0;
}

void print_line_with_status(ProgressLine& line, const std::string& text,
                            const std::string& status) {
  line.print_line(line.tty() ? text : text + " | " + status);
  if (line.tty()) line.show(status, /*force=*/true);
}

}  // namespace framescribe::sinks
