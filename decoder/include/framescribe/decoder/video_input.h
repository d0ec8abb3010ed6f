// The one check every video input goes through before FFmpeg sees it: the command line
// (summarize, probe, frames), YAML batch jobs, batch manifest lines, and any future caller that
// takes a video name from outside (an HTTP server's `video_url`). FfmpegSource::open runs it
// too, so nothing reaches FFmpeg unchecked.
//
//   decoder::VideoInput in = decoder::check_video_input(argv[1]);   // throws Error
//   in.kind == decoder::VideoInputKind::kFile ? in.location (a path) : in.location (a URL)
//   in.display                                // core::redact_source: safe to print and store
//
// Why: FFmpeg reads far more than files and http. A name like `concat:a.mp4|b.mp4`,
// `subfile,,0,100,:/etc/passwd`, `tcp://10.0.0.1:25` or `pipe:0` is a protocol of its own, and
// an http URL may redirect to any of them. So only three kinds of input are accepted:
//   - a local path (anything without a scheme; a relative path must not start with something
//     FFmpeg would read as a protocol prefix `name:` - write `./a:b.mp4` for such a file);
//   - `file://` URLs with an empty host or `localhost` (read as the local path);
//   - `http://` and `https://` URLs (user-info and query strings allowed; they are never shown).
// Everything else (tcp, udp, rtp, rtsp, rtmp, ftp, concat, subfile, pipe, data, crypto, s3, ...)
// is refused with kUnsupported; names with control characters (a newline in a manifest line)
// with kInvalidArgument. FfmpegSource then restricts FFmpeg's protocols to the kind's
// `protocol_whitelist` (redirects and nested opens included) and refuses demuxers that open
// other inputs (playlists, concat lists: nested_input_format).
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace framescribe::decoder {

// kStdin: "-", the video read from standard input (a pipe), accepted only where the caller
// allows it (summarize, probe, frames: SourceOptions::allow_stdin).
enum class VideoInputKind { kFile, kHttp, kStdin };

struct VideoInput {
  VideoInputKind kind = VideoInputKind::kFile;
  std::string location;  // kFile: the local path (file:// removed); kHttp: the URL as given;
                         // kStdin: "pipe:0"
  std::string display;   // the input as it may be printed or stored (core::redact_source)
};

// Classifies `input` or throws Error (kUnsupported for a refused scheme or protocol prefix,
// kInvalidArgument for an empty name or control characters); the message names the input
// (redacted) and says what is accepted.
VideoInput check_video_input(std::string_view input, bool allow_stdin = false);

// FFmpeg's protocol_whitelist for a kind: "file" for local files; for http(s) URLs
// "http,https,tls,tcp,crypto,httpproxy" (https is tls over tcp; crypto decrypts AES-128 HLS
// segments; httpproxy tunnels https through a proxy set in $http_proxy); "pipe" for standard
// input (only the pipe protocol: nothing else can be opened from it).
const char* protocol_whitelist(VideoInputKind kind);

// True for a demuxer that opens further inputs named inside the file (HLS and DASH playlists,
// concat lists, IMF compositions, SDP/RTSP/RTP/SAP session descriptions, script demuxers):
// such a file makes FFmpeg read other files or URLs than the one the user gave. `format_name`
// is an AVInputFormat name (it may be a comma list such as "mov,mp4,m4a,3gp,3g2,mj2").
bool nested_input_format(std::string_view format_name);

// `text` with every URL in it (any "scheme://...", the scheme possibly empty or odd, up to the
// next white space) passed through core::redact_source: for lines written by others (FFmpeg's
// log) and for messages that quote an input.
std::string redact_urls_in_text(std::string_view text);

}  // namespace framescribe::decoder
