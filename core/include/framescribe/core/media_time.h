// Media times as ffmpeg users type them, for every option or key that is a position in a video
// (--start, --end, sampling.start ...): seconds ("90", "90.5") or [HH:]MM:SS[.ms] ("1:30",
// "01:02:03.250"). Header-only: the apps and the batch job parser share it.
#pragma once

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace framescribe::core {

// The seconds `text` names, or nullopt for anything else: a sign, an exponent, spaces, "inf",
// empty fields, more than three fields, a fraction before the last field, or a minute or second
// field >= 60 after a larger one ("1:75" is a typo, not 2:15). At most 1e9 s.
inline std::optional<double> parse_media_time(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  // Fields split at ':'; only the last may have a fraction; each is plain digits (no sign,
  // exponent, spaces), so "-1", "1e3" and "inf" are refused as ffmpeg's own parser does.
  std::vector<std::string> fields;
  std::size_t from = 0;
  for (;;) {
    const std::size_t colon = text.find(':', from);
    fields.push_back(text.substr(from, colon == std::string::npos ? colon : colon - from));
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  if (fields.size() > 3) return std::nullopt;
  double total = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    const bool last = i + 1 == fields.size();
    if (f.empty()) return std::nullopt;
    std::size_t dots = 0;
    for (char c : f) {
      if (c == '.') {
        ++dots;
      } else if (c < '0' || c > '9') {
        return std::nullopt;
      }
    }
    if (dots > (last ? 1u : 0u) || f == ".") return std::nullopt;
    const double v = std::strtod(f.c_str(), nullptr);
    // Minutes and seconds below 60 once a larger field precedes them ("1:75" is a typo).
    if (i > 0 && v >= 60) return std::nullopt;
    total = total * 60 + v;
  }
  if (!std::isfinite(total) || total > 1e9) return std::nullopt;
  return total;
}

}  // namespace framescribe::core
