// Still images from memory with FFmpeg: probe, demux (custom AVIO over the bytes), decode the
// first frame, convert to RGB8/RGBA8 with libswscale, apply the EXIF orientation.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "framescribe/core/error.h"
#include "framescribe/decoder/av_ptr.h"
#include "framescribe/decoder/still_image.h"
#include "pixel_format.h"
#include "still_image_internal.h"

namespace framescribe::decoder {
namespace {

// The demuxers (as av_probe_input_format names them) and decoders accepted for still images.
// Nothing else ever sees the bytes: untrusted input reaches only these parsers.
constexpr std::array<std::string_view, 7> kDemuxers = {"png_pipe", "apng", "jpeg_pipe", "webp_pipe",
                                                       "bmp_pipe", "gif",  "gif_pipe"};
constexpr std::array<AVCodecID, 6> kCodecs = {AV_CODEC_ID_PNG,  AV_CODEC_ID_APNG, AV_CODEC_ID_MJPEG,
                                              AV_CODEC_ID_WEBP, AV_CODEC_ID_BMP,  AV_CODEC_ID_GIF};
constexpr const char* kSupported = "PNG, JPEG, WebP, BMP or GIF";

std::string av_err(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

// Read-only memory for a custom AVIOContext.
struct MemoryReader {
  const std::uint8_t* data;
  std::int64_t size;
  std::int64_t pos = 0;

  static int read(void* opaque, std::uint8_t* buf, int buf_size) {
    auto* r = static_cast<MemoryReader*>(opaque);
    std::int64_t n = std::min<std::int64_t>(buf_size, r->size - r->pos);
    if (n <= 0) return AVERROR_EOF;
    std::memcpy(buf, r->data + r->pos, static_cast<std::size_t>(n));
    r->pos += n;
    return static_cast<int>(n);
  }
  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* r = static_cast<MemoryReader*>(opaque);
    if (whence & AVSEEK_SIZE) return r->size;
    std::int64_t base = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case SEEK_SET:
        base = 0;
        break;
      case SEEK_CUR:
        base = r->pos;
        break;
      case SEEK_END:
        base = r->size;
        break;
      default:
        return AVERROR(EINVAL);
    }
    if (offset > r->size || offset < -r->size) return AVERROR(EINVAL);
    std::int64_t target = base + offset;
    if (target < 0 || target > r->size) return AVERROR(EINVAL);
    r->pos = target;
    return target;
  }
};

// Which demuxer claims the bytes; nullptr when none is confident.
const AVInputFormat* probe(std::span<const std::uint8_t> bytes, int* score) {
  // Probing looks at the start of the file only; the buffer needs zeroed padding.
  std::size_t n = std::min<std::size_t>(bytes.size(), 1 << 20);
  std::vector<std::uint8_t> padded(n + AVPROBE_PADDING_SIZE, 0);
  std::memcpy(padded.data(), bytes.data(), n);
  AVProbeData pd{};
  pd.filename = "";
  pd.buf = padded.data();
  pd.buf_size = static_cast<int>(n);
  return av_probe_input_format3(&pd, 1, score);
}

// FFmpeg's JPEG decoder "emulates" a missing end marker and returns a half-grey picture
// without any error flag, so truncation is checked on the bytes: the entropy-coded data can
// hold neither FF D9 (EOI) nor FF DA (SOS), so a complete file has an EOI after its last SOS.
bool jpeg_is_complete(std::span<const std::uint8_t> b) {
  std::size_t last_sos = 0, last_eoi = 0;
  for (std::size_t i = 0; i + 1 < b.size(); ++i) {
    if (b[i] != 0xFF) continue;
    if (b[i + 1] == 0xDA) last_sos = i + 1;
    if (b[i + 1] == 0xD9) last_eoi = i + 1;
  }
  return last_sos > 0 && last_eoi > last_sos;
}

// The decoded frame as RGB8, or RGBA8 if the format carries alpha and some pixel uses it.
core::Image to_rgb(const AVFrame& frame, const std::string& name) {
  const int w = frame.width, h = frame.height;
  bool full_range = frame.color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat src_fmt =
      plain_pixel_format(static_cast<AVPixelFormat>(frame.format), &full_range);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(src_fmt);
  FS_CHECK(desc != nullptr, kUnsupported,
           name << ": unknown decoded pixel format " << frame.format);
  const bool may_have_alpha = (desc->flags & (AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_PAL)) != 0;
  const AVPixelFormat dst_fmt = may_have_alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;

  SwsContextPtr sws(sws_getContext(w, h, src_fmt, w, h, dst_fmt,
                                   SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                                   nullptr, nullptr));
  FS_CHECK(sws != nullptr, kUnsupported,
           name << ": cannot convert pixel format " << desc->name << " to RGB");
  const bool is_yuv =
      !(desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && desc->nb_components >= 3;
  if (is_yuv) {
    int cs = frame.colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : frame.colorspace;
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(cs), full_range ? 1 : 0,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  }

  // swscale may write past the row end in its SIMD paths: scale into an aligned, padded buffer
  // of its own, then copy the rows.
  std::uint8_t* dst_data[4] = {};
  int dst_linesize[4] = {};
  int r = av_image_alloc(dst_data, dst_linesize, w, h, dst_fmt, 64);
  FS_CHECK(r >= 0, kOutOfMemory, name << ": cannot allocate " << w << "x" << h << " pixels");
  std::unique_ptr<std::uint8_t, void (*)(void*)> dst_owner(dst_data[0], av_free);
  r = sws_scale(sws.get(), frame.data, frame.linesize, 0, h, dst_data, dst_linesize);
  FS_CHECK(r == h, kInternal, name << ": pixel conversion failed");

  bool keep_alpha = false;
  if (may_have_alpha) {
    for (int y = 0; y < h && !keep_alpha; ++y) {
      const std::uint8_t* row = dst_data[0] + static_cast<std::ptrdiff_t>(y) * dst_linesize[0];
      for (int x = 0; x < w; ++x) {
        if (row[4 * x + 3] != 255) {
          keep_alpha = true;
          break;
        }
      }
    }
  }
  core::Image out(w, h, keep_alpha ? core::PixelFormat::kRgba8 : core::PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* src = dst_data[0] + static_cast<std::ptrdiff_t>(y) * dst_linesize[0];
    std::uint8_t* dst = out.data() + out.stride_bytes() * static_cast<std::size_t>(y);
    if (dst_fmt == AV_PIX_FMT_RGBA && !keep_alpha) {
      for (int x = 0; x < w; ++x) {
        dst[3 * x + 0] = src[4 * x + 0];
        dst[3 * x + 1] = src[4 * x + 1];
        dst[3 * x + 2] = src[4 * x + 2];
      }
    } else {
      std::memcpy(dst, src, out.stride_bytes());
    }
  }
  return out;
}

// EXIF orientation of a decoded frame: the display matrix if the decoder exports one (newer
// FFmpeg), else the EXIF "Orientation" tag that FFmpeg 5.1's JPEG decoder copies into the
// frame metadata. Exactly one of them is applied. 1 when there is neither.
int frame_orientation(const AVFrame& frame) {
  if (const AVFrameSideData* sd = av_frame_get_side_data(&frame, AV_FRAME_DATA_DISPLAYMATRIX);
      sd != nullptr && sd->size >= static_cast<int>(9 * sizeof(std::int32_t))) {
    std::int32_t m[9];
    std::memcpy(m, sd->data, sizeof(m));
    return detail::exif_orientation_from_display_matrix(m);
  }
  if (const AVDictionaryEntry* e = av_dict_get(frame.metadata, "Orientation", nullptr, 0)) {
    std::string v = e->value;
    if (v.size() == 1 && v[0] >= '1' && v[0] <= '8') return v[0] - '0';
  }
  return 1;
}

}  // namespace

namespace detail {

int exif_orientation_from_display_matrix(const std::int32_t m[9]) {
  // libavutil/display.h: a point (p, q) of the decoded frame is shown at
  //   p' = a p + c q + x,  q' = b p + d q + y   with a = m[0], b = m[1], c = m[3], d = m[4]
  // (16.16 fixed point), in image coordinates (y down): av_display_rotation_set(m, 90) is a
  // clockwise turn, i.e. EXIF 6, and av_display_matrix_flip(m, 1, 0) mirrors the result
  // left-right. Compare the signs of that linear map with the map of each EXIF orientation.
  // Anything that is not a multiple of 90 degrees counts as 1.
  auto sgn = [](std::int32_t v) { return v > (1 << 15) ? 1 : v < -(1 << 15) ? -1 : 0; };
  const int l00 = sgn(m[0]), l01 = sgn(m[3]), l10 = sgn(m[1]), l11 = sgn(m[4]);
  struct Map {
    int l00, l01, l10, l11, orientation;
  };
  static constexpr Map kMaps[] = {
      {1, 0, 0, 1, 1}, {-1, 0, 0, 1, 2}, {-1, 0, 0, -1, 3}, {1, 0, 0, -1, 4},
      {0, 1, 1, 0, 5}, {0, -1, 1, 0, 6}, {0, -1, -1, 0, 7}, {0, 1, -1, 0, 8},
  };
  for (const Map& map : kMaps) {
    if (map.l00 == l00 && map.l01 == l01 && map.l10 == l10 && map.l11 == l11)
      return map.orientation;
  }
  return 1;
}

}  // namespace detail

core::Image decode_image(std::span<const std::uint8_t> bytes, std::string_view name_view,
                         const StillImageOptions& options) {
  const std::string name(name_view);
  FS_CHECK(!bytes.empty(), kInvalidArgument, name << ": empty (0 bytes), not an image");
  FS_CHECK(static_cast<std::int64_t>(bytes.size()) <= options.max_bytes, kInvalidArgument,
           name << ": " << bytes.size() << " bytes is more than the limit of " << options.max_bytes
                << " bytes for an image");

  int score = 0;
  const AVInputFormat* fmt = probe(bytes, &score);
  FS_CHECK(fmt != nullptr, kInvalidArgument,
           name << ": not an image (the content is not " << kSupported << ")");
  const std::string_view fmt_name = fmt->name;
  FS_CHECK(std::find(kDemuxers.begin(), kDemuxers.end(), fmt_name) != kDemuxers.end(), kUnsupported,
           name << ": unsupported format '" << fmt_name << "' ("
                << (fmt->long_name ? fmt->long_name : fmt->name) << "); images must be "
                << kSupported);

  // Custom I/O over the bytes: the demuxer reads memory, never a file or a protocol.
  MemoryReader reader{bytes.data(), static_cast<std::int64_t>(bytes.size())};
  constexpr int kAvioBufferBytes = 32 * 1024;
  auto* avio_buf = static_cast<unsigned char*>(av_malloc(kAvioBufferBytes));
  FS_CHECK(avio_buf != nullptr, kOutOfMemory, name << ": out of memory");
  AvIoContextPtr avio(avio_alloc_context(avio_buf, kAvioBufferBytes, 0, &reader,
                                         &MemoryReader::read, nullptr, &MemoryReader::seek));
  if (!avio) {
    av_free(avio_buf);
    FS_FAIL(kOutOfMemory, name << ": out of memory");
  }
  AVFormatContext* raw_fmt = avformat_alloc_context();
  FS_CHECK(raw_fmt != nullptr, kOutOfMemory, name << ": out of memory");
  raw_fmt->pb = avio.get();
  raw_fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  // On failure avformat_open_input frees the context (not the custom AVIO).
  int r = avformat_open_input(&raw_fmt, nullptr, fmt, nullptr);
  FS_CHECK(r >= 0, kInvalidArgument,
           name << ": cannot read the " << fmt_name << " data (" << av_err(r)
                << "); the file is damaged or not an image");
  AvFormatInputPtr fctx(raw_fmt);

  int stream_index = -1;
  for (unsigned i = 0; i < fctx->nb_streams; ++i) {
    if (fctx->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
      stream_index = static_cast<int>(i);
      break;
    }
  }
  FS_CHECK(stream_index >= 0, kInvalidArgument,
           name << ": no picture in the " << fmt_name << " data");
  const AVCodecParameters* par = fctx->streams[stream_index]->codecpar;
  FS_CHECK(std::find(kCodecs.begin(), kCodecs.end(), par->codec_id) != kCodecs.end(), kUnsupported,
           name << ": unsupported codec '" << avcodec_get_name(par->codec_id)
                << "'; images must be " << kSupported);
  FS_CHECK(par->codec_id != AV_CODEC_ID_MJPEG || jpeg_is_complete(bytes), kInvalidArgument,
           name << ": the JPEG data stops before its end marker; the file is truncated");
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  FS_CHECK(codec != nullptr, kUnsupported,
           name << ": this FFmpeg has no " << avcodec_get_name(par->codec_id) << " decoder");
  AvCodecContextPtr cctx(avcodec_alloc_context3(codec));
  FS_CHECK(cctx != nullptr, kOutOfMemory, name << ": out of memory");
  r = avcodec_parameters_to_context(cctx.get(), par);
  FS_CHECK(r >= 0, kInternal, name << ": cannot set up the decoder (" << av_err(r) << ")");
  cctx->max_pixels = options.max_pixels;  // refuse giant dimensions before allocating
  cctx->thread_count = 1;
  r = avcodec_open2(cctx.get(), codec, nullptr);
  FS_CHECK(r >= 0, kInvalidArgument,
           name << ": cannot open the " << codec->name << " decoder (" << av_err(r) << ")");

  AvPacketPtr pkt(av_packet_alloc());
  AvFramePtr frame(av_frame_alloc());
  FS_CHECK(pkt && frame, kOutOfMemory, name << ": out of memory");
  bool flushed = false;
  std::string last_error;
  for (;;) {
    if (!flushed) {
      r = av_read_frame(fctx.get(), pkt.get());
      if (r == AVERROR_EOF) {
        avcodec_send_packet(cctx.get(), nullptr);  // drain
        flushed = true;
      } else if (r < 0) {
        FS_FAIL(kInvalidArgument, name << ": cannot read the " << fmt_name << " data (" << av_err(r)
                                       << "); the file is damaged or truncated");
      } else {
        if (pkt->stream_index == stream_index) {
          r = avcodec_send_packet(cctx.get(), pkt.get());
          if (r < 0 && r != AVERROR(EAGAIN)) last_error = av_err(r);
        }
        av_packet_unref(pkt.get());
      }
    }
    r = avcodec_receive_frame(cctx.get(), frame.get());
    if (r == 0) break;
    if (r == AVERROR(EAGAIN) && !flushed) continue;
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) last_error = av_err(r);
    FS_FAIL(kInvalidArgument, name << ": the " << codec->name << " data holds no decodable picture"
                                   << (last_error.empty() ? std::string() : " (" + last_error + ")")
                                   << "; the file is damaged or truncated");
  }
  FS_CHECK(frame->width > 0 && frame->height > 0, kInvalidArgument,
           name << ": the picture has zero size");
  FS_CHECK(static_cast<std::int64_t>(frame->width) * frame->height <= options.max_pixels,
           kInvalidArgument,
           name << ": " << frame->width << "x" << frame->height
                << " is more pixels than the limit of " << options.max_pixels);
  FS_CHECK(!(frame->flags & AV_FRAME_FLAG_CORRUPT) && frame->decode_error_flags == 0,
           kInvalidArgument, name << ": the picture is damaged or truncated");

  core::Image image = to_rgb(*frame, name);
  if (options.apply_orientation) {
    const int orientation = frame_orientation(*frame);
    if (orientation != 1) image = apply_exif_orientation(image, orientation);
  }
  return image;
}

}  // namespace framescribe::decoder
