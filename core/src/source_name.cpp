#include "framescribe/core/source_name.h"

namespace framescribe::core {
namespace {

constexpr std::string_view kHidden = "***";

// Where the authority starts (just after "scheme://"), or npos for a path. A scheme is
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1).
std::size_t authority_begin(std::string_view s) {
  const std::size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::string_view::npos;
  for (std::size_t i = 0; i < sep; ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool ok =
        alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::string_view::npos;
  }
  return sep + 3;
}

}  // namespace

std::string redact_source(std::string_view source) {
  const std::size_t host = authority_begin(source);
  if (host == std::string_view::npos) return std::string(source);
  std::size_t authority_end = source.find_first_of("/?#", host);
  if (authority_end == std::string_view::npos) authority_end = source.size();
  std::string out(source.substr(0, host));
  const std::string_view authority = source.substr(host, authority_end - host);
  const std::size_t at = authority.rfind('@');
  out += at == std::string_view::npos ? authority : authority.substr(at + 1);

  std::string_view rest = source.substr(authority_end);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);  // a fragment can carry a token (OAuth implicit flow)
  }
  const std::size_t q = rest.find('?');
  out += rest.substr(0, q);
  if (q == std::string_view::npos) return out;
  std::string_view query = rest.substr(q + 1);
  out += '?';
  bool first = true;
  while (true) {
    const std::size_t amp = query.find_first_of("&;");
    const std::string_view param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      // A bare parameter ("?abcdef") may itself be the secret.
      if (!param.empty()) out += kHidden;
    } else {
      out += param.substr(0, eq);
      out += '=';
      out += kHidden;
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out;
}

std::string source_stem(std::string_view source) {
  std::string_view path = source;
  if (const std::size_t host = authority_begin(source); host != std::string_view::npos) {
    const std::size_t path_begin = source.find_first_of("/?#", host);
    path = path_begin == std::string_view::npos ? std::string_view{} : source.substr(path_begin);
    path = path.substr(0, path.find_first_of("?#"));
  }
  while (!path.empty() && (path.back() == '/' || path.back() == '\\')) path.remove_suffix(1);
  const std::size_t slash = path.find_last_of("/\\");
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) name = name.substr(0, dot);
  if (name == "." || name == "..") return {};
  // "....mp4" leaves "..."; any name made only of dots is refused the same way.
  if (name.find_first_not_of('.') == std::string_view::npos) return {};
  return std::string(name);
}

}  // namespace framescribe::core
