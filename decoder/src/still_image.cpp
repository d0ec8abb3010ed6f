// Still images: which kind of source, reading its bytes (file, URL, data URI), base64, EXIF
// orientation. FFmpeg decoding is in still_image_decode.cpp, libcurl in still_image_http.cpp.
#include "framescribe/decoder/still_image.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "framescribe/core/base64.h"
#include "framescribe/core/error.h"
#include "framescribe/core/source_name.h"
#include "still_image_internal.h"

namespace framescribe::decoder {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && detail::ascii_lower(s.substr(0, prefix.size())) == prefix;
}

// "scheme://" at the start (RFC 3986 scheme characters)?
bool has_scheme(std::string_view s) {
  std::size_t p = s.find("://");
  if (p == std::string_view::npos || p == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (std::size_t i = 1; i < p; ++i) {
    char c = s[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path, const std::string& name,
                                    const StillImageOptions& options) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  FS_CHECK(!ec || ec == std::errc::no_such_file_or_directory, kIo,
           name << ": cannot access the file (" << ec.message() << ")");
  FS_CHECK(std::filesystem::exists(st), kNotFound, name << ": no such image file");
  FS_CHECK(!std::filesystem::is_directory(st), kInvalidArgument,
           name << ": is a directory, not an image file");
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kIo, name << ": cannot open the file (" << std::strerror(errno) << ")");
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kChunk = 1 << 16;
  for (;;) {
    std::size_t old = bytes.size();
    FS_CHECK(static_cast<std::int64_t>(old) <= options.max_bytes, kInvalidArgument,
             name << ": larger than the limit of " << options.max_bytes << " bytes for an image");
    bytes.resize(old + kChunk);
    in.read(reinterpret_cast<char*>(bytes.data() + old), kChunk);
    bytes.resize(old + static_cast<std::size_t>(in.gcount()));
    if (in.eof()) break;
    FS_CHECK(in.good(), kIo, name << ": read error");
  }
  FS_CHECK(static_cast<std::int64_t>(bytes.size()) <= options.max_bytes, kInvalidArgument,
           name << ": " << bytes.size() << " bytes is more than the limit of " << options.max_bytes
                << " bytes for an image");
  FS_CHECK(!bytes.empty(), kInvalidArgument, name << ": empty file (0 bytes), not an image");
  return bytes;
}

// data:[<media type>][;param]*;base64,<data>
std::vector<std::uint8_t> read_data_uri(std::string_view uri, const std::string& name,
                                        const StillImageOptions& options) {
  std::size_t comma = uri.find(',');
  FS_CHECK(comma != std::string_view::npos, kInvalidArgument,
           name << ": malformed data URI (no ',' before the data)");
  const std::string header = detail::ascii_lower(uri.substr(5, comma - 5));
  const std::string media_type = header.substr(0, header.find(';'));
  FS_CHECK(media_type.rfind("image/", 0) == 0, kInvalidArgument,
           name << ": the data URI holds '" << (media_type.empty() ? "text/plain" : media_type)
                << "', not an image (expected data:image/...;base64,...)");
  FS_CHECK(header.size() >= 7 && header.compare(header.size() - 7, 7, ";base64") == 0, kUnsupported,
           name << ": only base64 data URIs are supported (data:" << media_type << ";base64,...)");
  std::string_view payload = uri.substr(comma + 1);
  // 4 characters per 3 bytes, plus some whitespace: refuse before decoding anything huge.
  FS_CHECK(static_cast<std::int64_t>(payload.size()) / 4 * 3 <= options.max_bytes + 3 ||
               static_cast<std::int64_t>(payload.size()) <= options.max_bytes,
           kInvalidArgument,
           name << ": the data URI is larger than the limit of " << options.max_bytes
                << " bytes for an image");
  std::vector<std::uint8_t> bytes = decode_base64(payload, name);
  FS_CHECK(static_cast<std::int64_t>(bytes.size()) <= options.max_bytes, kInvalidArgument,
           name << ": " << bytes.size() << " bytes is more than the limit of " << options.max_bytes
                << " bytes for an image");
  FS_CHECK(!bytes.empty(), kInvalidArgument, name << ": the data URI holds no data");
  return bytes;
}

}  // namespace

namespace detail {
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}
}  // namespace detail

ImageSourceKind classify_image_source(std::string_view source) {
  if (starts_with_ci(source, "data:")) return ImageSourceKind::kDataUri;
  if (has_scheme(source) && !starts_with_ci(source, "file://")) return ImageSourceKind::kUrl;
  return ImageSourceKind::kFile;
}

std::string redact_url(std::string_view url) {
  return core::redact_source(url);
}

std::string describe_image_source(std::string_view source) {
  switch (classify_image_source(source)) {
    case ImageSourceKind::kUrl:
      return redact_url(source);
    case ImageSourceKind::kDataUri: {
      constexpr std::size_t kShown = 40;
      if (source.size() <= kShown) return std::string(source);
      return std::string(source.substr(0, kShown)) + "... (" + std::to_string(source.size()) +
             " characters)";
    }
    case ImageSourceKind::kFile:
      break;
  }
  return std::string(source);
}

std::vector<std::uint8_t> decode_base64(std::string_view text, std::string_view name) {
  return core::decode_base64(text, name, /*allow_whitespace=*/true);
}

core::Image apply_exif_orientation(const core::Image& image, int orientation) {
  if (orientation < 2 || orientation > 8 || image.width_px() <= 0 || image.height_px() <= 0)
    return image;
  const int w = image.width_px(), h = image.height_px();
  const bool swap = orientation >= 5;
  const int ow = swap ? h : w, oh = swap ? w : h;
  const int ch = core::channels_of(image.format());
  core::Image out(ow, oh, image.format());
  for (int y = 0; y < oh; ++y) {
    std::uint8_t* dst = out.data() + out.stride_bytes() * static_cast<std::size_t>(y);
    for (int x = 0; x < ow; ++x) {
      // The stored pixel shown at display position (x, y).
      int sx = 0, sy = 0;
      switch (orientation) {
        case 2:
          sx = w - 1 - x, sy = y;
          break;
        case 3:
          sx = w - 1 - x, sy = h - 1 - y;
          break;
        case 4:
          sx = x, sy = h - 1 - y;
          break;
        case 5:
          sx = y, sy = x;
          break;
        case 6:
          sx = y, sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y, sy = h - 1 - x;
          break;
        case 8:
          sx = w - 1 - y, sy = x;
          break;
        default:
          break;
      }
      const std::uint8_t* src = image.data() + image.stride_bytes() * static_cast<std::size_t>(sy) +
                                static_cast<std::size_t>(sx) * ch;
      std::memcpy(dst + static_cast<std::size_t>(x) * ch, src, static_cast<std::size_t>(ch));
    }
  }
  return out;
}

std::vector<std::uint8_t> read_image_bytes(std::string_view source,
                                           const StillImageOptions& options) {
  const std::string name = "image " + describe_image_source(source);
  FS_CHECK(!source.empty(), kInvalidArgument, "image: empty path or URL");
  switch (classify_image_source(source)) {
    case ImageSourceKind::kDataUri:
      return read_data_uri(source, name, options);
    case ImageSourceKind::kUrl: {
      const std::string scheme = detail::ascii_lower(source.substr(0, source.find("://")));
      FS_CHECK(scheme == "http" || scheme == "https", kUnsupported,
               name << ": '" << scheme
                    << "' URLs are not supported; give an http(s) URL, a file or a data URI");
      return detail::fetch_url(std::string(source), name, options);
    }
    case ImageSourceKind::kFile:
      break;
  }
  std::string_view path = source;
  if (starts_with_ci(path, "file://")) {
    path.remove_prefix(7);
    if (starts_with_ci(path, "localhost/")) path.remove_prefix(9);
    FS_CHECK(!path.empty() && path[0] == '/', kInvalidArgument,
             name << ": a file:// URL needs an absolute path (file:///dir/image.png)");
  }
  return read_file(std::filesystem::path(std::string(path)), name, options);
}

core::Image load_image(std::string_view source, const StillImageOptions& options) {
  std::vector<std::uint8_t> bytes = read_image_bytes(source, options);
  return decode_image(bytes, "image " + describe_image_source(source), options);
}

}  // namespace framescribe::decoder
