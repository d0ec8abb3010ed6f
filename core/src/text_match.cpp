#include "framescribe/core/text_match.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace framescribe::core {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::vector<std::string> closest_names(std::string_view word,
                                       const std::vector<std::string>& names) {
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::size_t best = limit + 1;
  std::vector<std::string> close;
  for (const std::string& n : names) {
    if (n.size() <= 2) continue;
    std::size_t dist = edit_distance(word, n);
    if (word.size() >= 4 && std::string_view(n).starts_with(word))
      dist = std::min<std::size_t>(dist, 1);
    if (dist < best) {
      best = dist;
      close.clear();
    }
    if (dist == best && std::find(close.begin(), close.end(), n) == close.end()) close.push_back(n);
  }
  return close;
}

std::string join_alternatives(const std::vector<std::string>& words) {
  std::string list;
  for (std::size_t k = 0; k < words.size(); ++k)
    list += (k == 0 ? "" : k + 1 == words.size() ? " or " : ", ") + words[k];
  return list;
}

std::string format_duration(double s) {
  char buf[64];
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) / 60) % 60);
  }
  return buf;
}

}  // namespace framescribe::core
