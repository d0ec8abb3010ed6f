#include "framescribe/decoder/video_input.h"

#include <array>
#include <cctype>

#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"

namespace framescribe::decoder {
namespace {

bool scheme_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr const char* kAccepted =
    "videos are read from local files, file:// URLs and http(s):// URLs only";

}  // namespace

VideoInput check_video_input(std::string_view input, bool allow_stdin) {
  FS_CHECK(!input.empty(), kInvalidArgument,
           "empty video name; give a file path or an http(s) URL");
  // Messages name the input with every URL in it redacted, also one that is not at its start
  // ("x:http://user:pw@host/..."): the fuzzer found that case.
  const std::string shown = redact_urls_in_text(core::redact_source(input));
  for (const char c : input) {
    const auto u = static_cast<unsigned char>(c);
    FS_CHECK(u >= 0x20 && u != 0x7f, kInvalidArgument,
             "video name '" << redact_urls_in_text(core::redact_source(input.substr(0, 200)))
                            << "...' holds a control character (a line break?); give one file "
                               "path or URL per line");
  }
  VideoInput out;
  // "-": standard input, as ffmpeg reads it; only the pipe protocol is whitelisted for it.
  if (input == "-") {
    FS_CHECK(allow_stdin, kUnsupported,
             "'-' (standard input) is read only by summarize, probe and frames; give a file "
             "path or an http(s) URL");
    out.kind = VideoInputKind::kStdin;
    out.location = "pipe:0";
    out.display = "-";
    return out;
  }
  out.display = core::redact_source(input);
  // "scheme://..." with a well-formed scheme (RFC 3986 3.1).
  const std::size_t sep = input.find("://");
  std::size_t scheme_len = 0;
  while (scheme_len < input.size() && scheme_char(input[scheme_len], scheme_len == 0)) ++scheme_len;
  if (sep != std::string_view::npos && sep == scheme_len && sep > 0) {
    const std::string scheme = lower(input.substr(0, sep));
    if (scheme == "http" || scheme == "https") {
      FS_CHECK(sep + 3 < input.size() && input[sep + 3] != '/', kInvalidArgument,
               shown << ": no host in the URL");
      out.kind = VideoInputKind::kHttp;
      out.location = std::string(input);
      return out;
    }
    if (scheme == "file") {
      std::string_view rest = input.substr(sep + 3);
      if (rest.substr(0, 9) == "localhost") rest.remove_prefix(9);
      FS_CHECK(!rest.empty() && rest.front() == '/', kUnsupported,
               shown << ": a file:// URL must name a local absolute path (file:///path); other "
                        "hosts are not read");
      out.kind = VideoInputKind::kFile;
      out.location = std::string(rest);
      return out;
    }
    FS_FAIL(kUnsupported, shown << ": URL scheme '" << scheme << "' is not accepted; " << kAccepted
                                << (scheme == "rtsp" || scheme == "rtsps"
                                        ? " (live RTSP streams: framescribe monitor)"
                                        : ""));
  }
  // No scheme. FFmpeg reads "name:rest" as protocol `name` (concat:, subfile,,...:, pipe:,
  // data:, tcp:...), so a relative name with a ':' before its first '/' is refused rather than
  // guessed about.
  const std::size_t colon = input.find(':');
  const std::size_t slash = input.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) {
    FS_FAIL(kUnsupported,
            shown << ": '" << shown.substr(0, shown.find(':') + 1)
                  << "' would be read by FFmpeg as a protocol, which is not "
                     "accepted; "
                  << kAccepted
                  << (sep == std::string_view::npos
                          ? " (a file whose name holds ':' can be given as ./" + shown + ")"
                          : std::string()));
  }
  FS_CHECK(
      sep == std::string_view::npos, kUnsupported,
      shown << ": not a URL framescribe reads (the scheme before :// is malformed); " << kAccepted);
  out.kind = VideoInputKind::kFile;
  out.location = std::string(input);
  return out;
}

const char* protocol_whitelist(VideoInputKind kind) {
  if (kind == VideoInputKind::kStdin) return "pipe";
  return kind == VideoInputKind::kFile ? "file" : "http,https,tls,tcp,crypto,httpproxy";
}

bool nested_input_format(std::string_view format_name) {
  // FFmpeg 5.1's demuxers that open inputs named inside the data (libavformat: io_open,
  // avformat_open_input or ffurl_open from read_header): playlists, edit lists, session
  // descriptions, scripts. mov can follow external references too, but only when the
  // enable_drefs option is set, which framescribe never does.
  static constexpr std::array<std::string_view, 13> kNested = {
      "hls",  "applehttp", "dash", "concat",   "imf",         "sdp",
      "rtsp", "rtp",       "sap",  "avisynth", "vapoursynth", "webm_dash_manifest",
      "lavfi"};
  std::string_view rest = format_name;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    for (std::string_view n : kNested)
      if (name == n) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

std::string redact_urls_in_text(std::string_view text) {
  std::string out;
  std::size_t done = 0;
  for (std::size_t pos = text.find("://"); pos != std::string_view::npos;
       pos = text.find("://", pos + 3)) {
    std::size_t begin = pos;
    while (begin > done && scheme_char(text[begin - 1], false)) --begin;
    std::size_t end = pos + 3;
    // To the next white space: a quote or bracket may end the URL, but stopping there could
    // leave a user-info that holds one; redacting a little too much is the safe side.
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    // Closing quotes and brackets right at its end are the text's, not the URL's.
    while (end > pos + 3 &&
           std::string_view("'\"<>()[],;").find(text[end - 1]) != std::string_view::npos)
      --end;
    out.append(text.substr(done, begin - done));
    // Behind an "x" so that what precedes "://" always reads as a scheme (even none, or one
    // starting with a digit): the user-info and query values go whatever the scheme looks like.
    std::string url = "x";
    url.append(text.substr(begin, end - begin));
    out += core::redact_source(url).substr(1);
    done = end;
    pos = end > 3 ? end - 3 : end;
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace framescribe::decoder
