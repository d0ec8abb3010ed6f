#include "framescribe/core/text_sanitizer.h"

#include <cstddef>

namespace framescribe::core {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Whether a valid 2- or 3-byte character is one that is removed: C1 controls and the bidi
// embedding/override/isolate controls.
bool removed(const unsigned char* p, std::size_t len) {
  if (len == 2) return p[0] == 0xC2 && p[1] < 0xA0;  // U+0080..U+009F
  if (len == 3 && p[0] == 0xE2) {
    if (p[1] == 0x80) return p[2] >= 0xAA && p[2] <= 0xAE;  // U+202A..U+202E
    if (p[1] == 0x81) return p[2] >= 0xA6 && p[2] <= 0xA9;  // U+2066..U+2069
  }
  return false;
}

// Appends the safe form of `text` to `out`. With `final` false, a valid but incomplete
// character at the end is not judged: its length is returned and it is left out.
std::size_t sanitize(std::string_view text, bool final, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if ((c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t') out += static_cast<char>(c);
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
    bool ok = len > 0;
    std::size_t k = 1;
    for (; ok && k < len && i + k < n; ++k) {
      const unsigned char b = p[i + k];
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok && i + len > n) {
      if (!final) return n - i;  // the rest of this character comes with the next chunk
      ok = false;
    }
    if (ok) {
      if (!removed(p + i, len)) out.append(text.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return 0;
}

}  // namespace

std::string TextSanitizer::feed(std::string_view chunk) {
  std::string out;
  out.reserve(chunk.size());
  std::size_t held = 0;
  if (pending_.empty()) {
    held = sanitize(chunk, /*final=*/false, out);
    pending_.assign(chunk.substr(chunk.size() - held));
  } else {
    std::string text = pending_;
    text.append(chunk);
    held = sanitize(text, /*final=*/false, out);
    pending_ = text.substr(text.size() - held);
  }
  return out;
}

std::string TextSanitizer::finish() {
  std::string out;
  sanitize(pending_, /*final=*/true, out);
  pending_.clear();
  return out;
}

}  // namespace framescribe::core
