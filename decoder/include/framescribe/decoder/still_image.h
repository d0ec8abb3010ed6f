// Still images for `framescribe ask` and friends: a file path, an http(s) URL or a
// `data:image/...;base64,` URI in, an 8-bit RGB (or RGBA) core::Image out.
//
//   using namespace framescribe::decoder;
//   core::Image a = load_image("photo.jpg");                       // EXIF orientation applied
//   core::Image b = load_image("https://example.com/cat.png");     // libcurl, http(s) only
//   core::Image c = load_image("data:image/png;base64,iVBORw0KGgo...");
//   core::Image d = decode_image(bytes, "upload #3");              // bytes already in memory
//
// Formats: PNG (and APNG), JPEG, WebP, BMP, GIF; animated files give their first frame. The
// bytes are decoded by FFmpeg from memory, only by those demuxers and decoders. The result is
// kRgb8, or kRgba8 when some pixel is not fully opaque (the engine composites over white). JPEG
// EXIF orientation (all eight values) is applied, so the image is the right way up.
//
// Limits (StillImageOptions): encoded size, decoded pixel count; for URLs connect and total
// timeouts, a redirect limit, http and https only (also after a redirect).
//
// Errors: every failure throws framescribe::Error whose message names the input (URLs without
// their user:password@ part, data URIs shortened) and says what went wrong:
//   kNotFound         no such file; HTTP 404/410
//   kIo               cannot read the file; network failure or timeout; other HTTP errors
//   kInvalidArgument  empty, truncated or corrupt data; not an image; too large; bad base64
//   kUnsupported      a recognised format or URL scheme that framescribe does not read
//
// Thread-safety: all functions are thread-safe (each call owns its FFmpeg and curl handles).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/image.h"

namespace framescribe::decoder {

struct StillImageOptions {
  std::int64_t max_bytes = 64ll << 20;      // encoded size, for every kind of source
  std::int64_t max_pixels = 8192ll * 8192;  // width * height of the decoded image
  int connect_timeout_ms = 10'000;          // URLs: TCP + TLS connect
  int total_timeout_ms = 60'000;            // URLs: the whole transfer, redirects included
  int max_redirects = 5;                    // URLs: 0 = do not follow redirects
  bool apply_orientation = true;            // JPEG EXIF orientation
};

enum class ImageSourceKind { kFile, kUrl, kDataUri };

// What `source` is: "data:" (any case) is a data URI, "http://" or "https://" (any case) a URL,
// "file://" a file, anything else with a "scheme://" prefix is rejected by load_image with
// kUnsupported, everything else is a file path.
ImageSourceKind classify_image_source(std::string_view source);

// Reads and decodes one image from a file path, URL or data URI. Throws Error (see above).
core::Image load_image(std::string_view source, const StillImageOptions& options = {});

// The encoded bytes of `source`, without decoding them (size capped by options.max_bytes).
std::vector<std::uint8_t> read_image_bytes(std::string_view source,
                                           const StillImageOptions& options = {});

// Decodes encoded image bytes. `name` identifies the input in error messages.
core::Image decode_image(std::span<const std::uint8_t> bytes, std::string_view name,
                         const StillImageOptions& options = {});

// --- helpers, exposed for tests and for callers that print sources ---

// core::redact_source: `url` without user-info, query values or fragment
// ("https://u:p@host/x?t=1" -> "https://host/x?t=***").
std::string redact_url(std::string_view url);

// How a source is named in messages: URLs redacted, data URIs cut to their first characters.
std::string describe_image_source(std::string_view source);

// Strict base64 (RFC 4648 alphabet, '=' padding required, ASCII whitespace ignored). Throws
// Error(kInvalidArgument) naming `name` and the offending position.
std::vector<std::uint8_t> decode_base64(std::string_view text, std::string_view name);

// Rotates/mirrors `image` as EXIF orientation `orientation` (1..8) says, so that it displays
// the right way up; values outside 1..8 leave it as it is.
core::Image apply_exif_orientation(const core::Image& image, int orientation);

}  // namespace framescribe::decoder
