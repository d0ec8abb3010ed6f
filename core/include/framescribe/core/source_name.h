// How a media source (a path or a URL) is named wherever it is shown or stored: in messages,
// progress lines, JSON, JSONL, SQLite, HTML, /metrics, file names. A URL's credentials never
// leave the process through a name.
//
//   core::redact_source("rtsp://admin:pw@cam/live?token=abc&ch=1#k")
//       == "rtsp://cam/live?token=***&ch=***"
//   core::source_stem("https://host/clips/a.mp4?sig=xyz") == "a"
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace framescribe::core {

// `source` with every secret a URL can carry removed: the user-info (`user:password@`), the
// value of every query parameter (replaced by `***`; names stay, so a reader can tell two
// streams apart by their parameters) and the fragment. Anything without a `scheme://` is a
// path and comes back unchanged. The scheme and host are kept as written.
std::string redact_source(std::string_view source);

// A name for files made from `source`: the last path segment of a URL (no user-info, query or
// fragment) or of a path, without its last extension. Empty when nothing usable remains, and
// "." and ".." are never returned (they come back empty), so a caller must choose a fallback
// rather than write outside its output folder.
std::string source_stem(std::string_view source);

}  // namespace framescribe::core
