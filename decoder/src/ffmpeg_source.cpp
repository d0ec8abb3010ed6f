// Opening inputs and the decode loop. The loop follows FFmpeg's doc/examples/demux_decode.c:
// receive until EAGAIN, then send one packet; EAGAIN and EOF are not errors; every packet is
// unreferenced; the decoder is drained with a null packet at the end of the input.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>
#include <vector>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "ffmpeg_source_impl.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::decoder {

namespace {

constexpr AVRational kNsTimeBase{1, 1'000'000'000};
constexpr AVRational kAvTimeBase{1, AV_TIME_BASE};  // AV_TIME_BASE_Q is a C compound literal
constexpr int kIoBufferBytes = 64 * 1024;
// Damaged input can make a decoder fail on every call; after this many failures in a row
// without a frame, the rest of the input is given up on (with a warning), so no input hangs us.
constexpr int kMaxConsecutiveErrors = 1000;
// Skipped packets remembered at most (a decoder holds far fewer packets than this in flight).
constexpr std::size_t kMaxSkippedPts = 1024;

int interrupt_cb(void* opaque) {
  return static_cast<const FfmpegSource::Impl*>(opaque)->stop_requested() ? 1 : 0;
}

int read_cb(void* opaque, std::uint8_t* buf, int size) {
  auto* impl = static_cast<FfmpegSource::Impl*>(opaque);
  if (size <= 0) return 0;
  int n = impl->reader->read({buf, static_cast<std::size_t>(size)});
  if (n == 0) return AVERROR_EOF;
  if (n < 0) return AVERROR(EIO);
  return std::min(n, size);
}

std::int64_t seek_cb(void* opaque, std::int64_t offset, int whence) {
  auto* impl = static_cast<FfmpegSource::Impl*>(opaque);
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE)
    return impl->reader->size() >= 0 ? impl->reader->size() : AVERROR(ENOSYS);
  if (whence == SEEK_END) {
    if (impl->reader->size() < 0) return AVERROR(ENOSYS);
    offset += impl->reader->size();
  } else if (whence != SEEK_SET) {
    return AVERROR(EINVAL);  // avio_seek only ever asks for SEEK_SET (and AVSEEK_SIZE)
  }
  std::int64_t r = impl->reader->seek(offset);
  return r < 0 ? AVERROR(EIO) : r;
}

std::string stream_kinds(const AVFormatContext* fmt) {
  std::ostringstream os;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const char* kind = av_get_media_type_string(fmt->streams[i]->codecpar->codec_type);
    os << (i ? ", " : "") << (kind ? kind : "unknown");
  }
  return fmt->nb_streams ? os.str() : "none";
}

// Throws the setup error for an input that could not be opened (avio_open2) or read as media
// (probing, avformat_open_input).
[[noreturn]] void throw_open_error(const FfmpegSource::Impl& impl, int ret, bool custom_io) {
  const std::string& n = impl.name;
  if (ret == AVERROR_EXIT || impl.stop_requested())
    FS_FAIL(kCancelled, n << ": opening was stopped");
  if (!custom_io && impl.input.kind == VideoInputKind::kFile) {
    const std::string& path = impl.input.location;
    std::error_code ec;
    FS_CHECK(std::filesystem::exists(path, ec), kNotFound, n << ": no such file; check the path");
    FS_CHECK(std::filesystem::file_size(path, ec) != 0 || ec, kUnsupported,
             n << ": the file is empty (0 bytes); was it copied or recorded completely?");
    FS_CHECK(ret != AVERROR(EACCES), kIo, n << ": permission denied; check the file's permissions");
  }
  if (!custom_io && impl.input.kind == VideoInputKind::kHttp && !impl.owned_io) {
    FS_FAIL(kIo, n << ": cannot open (" << redact_urls_in_text(av_error_string(ret))
                   << "); check the URL, the network and that the server is up");
  }
  // A pipe cannot seek: an mp4 whose index (moov) is at the end cannot be read from it.
  FS_CHECK(custom_io || impl.input.kind != VideoInputKind::kStdin, kUnsupported,
           "standard input: cannot be read as video ("
               << av_error_string(ret)
               << "); from a pipe give a stream format (MPEG-TS, Matroska) or an mp4 with its "
                  "index first (ffmpeg -movflags +faststart); an mp4 with the index at the end "
                  "must be given as a file");
  FS_FAIL(kUnsupported, n << ": cannot be read as video (" << av_error_string(ret)
                          << "); is it a complete video file? `ffprobe` shows what FFmpeg sees");
}

const char* format_description(const AVInputFormat* f) {
  return f->long_name ? f->long_name : f->name;
}

}  // namespace

namespace {
thread_local RefusedPictureSize* t_refused_size = nullptr;
}

PictureSizeCapture::PictureSizeCapture(RefusedPictureSize* into) {
  ensure_ffmpeg_log_callback();
  t_refused_size = into;
}
PictureSizeCapture::~PictureSizeCapture() {
  t_refused_size = nullptr;
}

void note_ffmpeg_log(const char* fmt, va_list args) {
  // libavutil/imgutils.c av_image_check_size2: "Picture size %ux%u exceeds specified max pixel
  // count ..." (and "... is invalid" for impossible sizes): the size comes first in both.
  static constexpr char kRefused[] = "Picture size %ux%u ";
  if (t_refused_size == nullptr || t_refused_size->width != 0 || fmt == nullptr ||
      std::strncmp(fmt, kRefused, sizeof kRefused - 1) != 0)
    return;
  va_list copy;
  va_copy(copy, args);
  t_refused_size->width = va_arg(copy, unsigned);
  t_refused_size->height = va_arg(copy, unsigned);
  va_end(copy);
}

std::string av_error_string(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(errnum, buf, sizeof buf);
  return buf;
}

int rotation_from_matrix(const std::uint8_t* matrix, std::size_t size_bytes) {
  if (!matrix || size_bytes < 9 * sizeof(std::int32_t)) return -1;
  std::int32_t m[9];
  std::memcpy(m, matrix, sizeof m);  // side data need not be aligned
  // av_display_rotation_get is counter-clockwise; displays rotate clockwise by its negation.
  double ccw = av_display_rotation_get(m);
  if (!std::isfinite(ccw)) return -1;
  long quarter = std::lround(-ccw / 90.0);
  int deg = static_cast<int>(((quarter % 4) + 4) % 4) * 90;
  return deg;
}

void display_size(int w, int h, AVRational sar, int rotation_deg, int* out_w, int* out_h) {
  double ratio = (sar.num > 0 && sar.den > 0) ? av_q2d(sar) : 1.0;
  // Absurd ratios come only from broken headers; ignoring them beats a 16000-pixel-wide frame.
  if (!(ratio >= 1.0 / 16 && ratio <= 16)) ratio = 1.0;
  double dw = w, dh = h;
  if (ratio > 1.0) dw = w * ratio;
  if (ratio < 1.0) dh = h / ratio;
  int iw = std::max(1, static_cast<int>(std::lround(dw)));
  int ih = std::max(1, static_cast<int>(std::lround(dh)));
  if (rotation_deg == 90 || rotation_deg == 270) std::swap(iw, ih);
  *out_w = iw;
  *out_h = ih;
}

void DecodedFrame::AvFrameFree::operator()(AVFrame* f) const noexcept {
  av_frame_free(&f);
}

int MemoryReader::read(std::span<std::uint8_t> buf) {
  std::size_t n = std::min(buf.size(), bytes_.size() - pos_);
  if (n) std::memcpy(buf.data(), bytes_.data() + pos_, n);
  pos_ += n;
  return static_cast<int>(n);
}

std::int64_t MemoryReader::seek(std::int64_t offset) {
  if (offset < 0 || static_cast<std::uint64_t>(offset) > bytes_.size()) return -1;
  pos_ = static_cast<std::size_t>(offset);
  return offset;
}

FfmpegSource::FfmpegSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FfmpegSource::~FfmpegSource() = default;
const StreamInfo& FfmpegSource::info() const {
  return impl_->info;
}
const SourceStats& FfmpegSource::stats() const {
  return impl_->stats;
}
void FfmpegSource::request_stop() {
  impl_->stop.store(true, std::memory_order_relaxed);
}

std::unique_ptr<FfmpegSource> FfmpegSource::open(const std::string& url,
                                                 const SourceOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->input = check_video_input(url, options.allow_stdin);  // the one check of every input
  impl->name = impl->input.display;
  impl->opt = options;
  return std::unique_ptr<FfmpegSource>(new FfmpegSource(open_impl(std::move(impl))));
}

std::unique_ptr<FfmpegSource> FfmpegSource::open(std::unique_ptr<ByteReader> reader,
                                                 const std::string& name,
                                                 const SourceOptions& options) {
  FS_CHECK(reader, kInvalidArgument, name << ": no reader given");
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  impl->opt = options;
  impl->reader = std::move(reader);
  return std::unique_ptr<FfmpegSource>(new FfmpegSource(open_impl(std::move(impl))));
}

std::unique_ptr<FfmpegSource::Impl> FfmpegSource::open_impl(std::unique_ptr<Impl> impl) {
  Impl& s = *impl;
  const bool custom_io = s.reader != nullptr;
  AVFormatContext* fmt = avformat_alloc_context();
  FS_CHECK(fmt, kOutOfMemory, s.name << ": cannot allocate a format context");
  fmt->interrupt_callback = {interrupt_cb, impl.get()};
  if (custom_io) {
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(kIoBufferBytes));
    s.io.reset(buffer ? avio_alloc_context(buffer, kIoBufferBytes, 0, impl.get(), read_cb, nullptr,
                                           seek_cb)
                      : nullptr);
    if (!s.io) {
      av_free(buffer);
      avformat_free_context(fmt);
      FS_FAIL(kOutOfMemory, s.name << ": cannot allocate an I/O context");
    }
    fmt->pb = s.io.get();
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  }

  // What FFmpeg may open from here on, nested reads and redirects included: only the
  // protocols this kind of input needs; custom readers need none.
  const std::string open_url =
      custom_io
          ? std::string()
          : (s.input.kind == VideoInputKind::kFile ? "file:" + s.input.location : s.input.location);
  AVDictionary* dict = nullptr;
  for (const auto& [k, v] : s.opt.format_options) av_dict_set(&dict, k.c_str(), v.c_str(), 0);
  av_dict_set(&dict, "protocol_whitelist", custom_io ? "none" : protocol_whitelist(s.input.kind),
              0);
  // image2 would read a numbered or globbed sequence of files for a name holding '%' or '*'.
  if (!av_dict_get(dict, "pattern_type", nullptr, 0)) av_dict_set(&dict, "pattern_type", "none", 0);
  if (!custom_io && s.input.kind == VideoInputKind::kHttp && s.opt.network_timeout_ms > 0 &&
      !av_dict_get(dict, "rw_timeout", nullptr, 0)) {
    // Without it a stalled server blocks a read forever (only a stop request would end it).
    av_dict_set_int(&dict, "rw_timeout", std::int64_t{s.opt.network_timeout_ms} * 1000, 0);
  }
  if (!custom_io && s.input.kind == VideoInputKind::kHttp) {
    // FFmpeg's tls protocol does not verify the peer unless told to; nested https reads (an
    // HLS playlist's segments) inherit these options.
    if (!av_dict_get(dict, "tls_verify", nullptr, 0))
      av_dict_set(&dict, "tls_verify", s.opt.tls_verify ? "1" : "0", 0);
    if (!s.opt.tls_ca_file.empty() && !av_dict_get(dict, "ca_file", nullptr, 0))
      av_dict_set(&dict, "ca_file", s.opt.tls_ca_file.c_str(), 0);
  }
  AvDictionaryPtr dict_owner(dict);
  const AVInputFormat* forced = nullptr;
  if (!s.opt.format_name.empty()) {
    forced = av_find_input_format(s.opt.format_name.c_str());
    if (!forced) avformat_free_context(fmt);
    FS_CHECK(forced, kInvalidArgument,
             s.name << ": unknown container format '" << s.opt.format_name
                    << "'; `ffmpeg -demuxers` lists them");
  }
  AVIOContext* pb = s.io.get();
  int ret = 0;
  if (!custom_io) {
    // Opened here rather than by avformat_open_input so that the format can be checked after
    // probing and before the demuxer reads its header (which is when a playlist opens others).
    AVDictionary* io_opts = nullptr;
    av_dict_copy(&io_opts, dict_owner.get(), 0);
    AVIOContext* opened = nullptr;
    ret = avio_open2(&opened, open_url.c_str(), AVIO_FLAG_READ, &fmt->interrupt_callback, &io_opts);
    av_dict_free(&io_opts);
    if (ret < 0) {
      avformat_free_context(fmt);
      throw_open_error(s, ret, custom_io);
    }
    s.owned_io.reset(opened);
    pb = opened;
  }
  const AVInputFormat* ifmt = forced;
  if (!ifmt) {
    ret = av_probe_input_buffer2(pb, &ifmt, custom_io ? nullptr : open_url.c_str(), nullptr, 0, 0);
    if (ret < 0 || !ifmt) {
      avformat_free_context(fmt);
      throw_open_error(s, ret < 0 ? ret : AVERROR_INVALIDDATA, custom_io);
    }
    const bool url_playlist =
        !custom_io && s.input.kind == VideoInputKind::kHttp &&
        (std::strcmp(ifmt->name, "hls") == 0 || std::strcmp(ifmt->name, "dash") == 0);
    if (nested_input_format(ifmt->name) && !s.opt.allow_nested_inputs && !url_playlist) {
      const std::string what = format_description(ifmt);
      avformat_free_context(fmt);
      FS_FAIL(kUnsupported, s.name << ": format '" << ifmt->name << "' (" << what
                                   << ") makes FFmpeg open other files or URLs named inside "
                                      "it, which framescribe refuses for this input; give the "
                                      "media file itself");
    }
  }
  fmt->pb = pb;
  fmt->flags |= AVFMT_FLAG_CUSTOM_IO;  // the context is ours (io / owned_io) and closed by us
  AVDictionary* d = dict_owner.release();
  ret = avformat_open_input(&fmt, custom_io ? nullptr : open_url.c_str(), ifmt, &d);
  dict_owner.reset(d);
  if (ret < 0) throw_open_error(s, ret, custom_io);  // fmt was freed by avformat_open_input
  s.fmt.reset(fmt);
  // From a pipe (no seeking back), an mp4 whose index (moov) follows its media data has been
  // read past every frame to reach that index: say so instead of decoding nothing.
  if (!custom_io && s.input.kind == VideoInputKind::kStdin) {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVIndexEntry* first = avformat_index_get_entry(fmt->streams[i], 0);
      FS_CHECK(first == nullptr || first->pos >= avio_tell(fmt->pb), kUnsupported,
               "standard input: an mp4 whose index (moov) is at the end cannot be read from a "
               "pipe; give it as a file, remux it with ffmpeg -movflags +faststart, or pipe a "
               "stream format (ffmpeg ... -f mpegts -)");
    }
  }

  // The decoders find_stream_info opens get the pixel limit too: a giant first picture is never
  // decoded, not even there.
  std::vector<AVDictionary*> stream_opts(fmt->nb_streams, nullptr);
  if (s.opt.max_pixels > 0)
    for (AVDictionary*& o : stream_opts) av_dict_set_int(&o, "max_pixels", s.opt.max_pixels, 0);
  RefusedPictureSize refused;
  {
    const PictureSizeCapture capture(&refused);
    ret = avformat_find_stream_info(fmt, stream_opts.empty() ? nullptr : stream_opts.data());
  }
  for (AVDictionary*& o : stream_opts) av_dict_free(&o);
  if (ret < 0) {
    FS_CHECK(!(ret == AVERROR_EXIT || s.stop_requested()), kCancelled,
             s.name << ": opening was stopped");
    FS_LOG_WARN(s.name << ": could not read stream parameters (" << av_error_string(ret)
                       << "); trying anyway");
  }

  const AVCodec* codec = nullptr;
  int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (idx == AVERROR_DECODER_NOT_FOUND) {
    int any = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    const char* cname = any >= 0 ? avcodec_get_name(fmt->streams[any]->codecpar->codec_id) : "?";
    FS_FAIL(kUnsupported,
            s.name << ": no decoder for its video codec '" << cname
                   << "' in this FFmpeg build; `ffmpeg -decoders` lists those available");
  }
  FS_CHECK(idx >= 0, kUnsupported,
           s.name << ": no video stream (streams: " << stream_kinds(fmt)
                  << "); framescribe needs a file with a video track");
  s.stream = fmt->streams[idx];
  // Only the chosen stream is demuxed into packets we look at; the rest is discarded early.
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (static_cast<int>(i) != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
  }

  if (s.opt.max_pixels > 0) {
    const AVCodecParameters* par = s.stream->codecpar;
    // Unknown sizes (pictures whose size only the decoder reads, e.g. PNG) were refused by the
    // decoders of find_stream_info; FFmpeg's log line said which.
    const bool known = par->width > 0 && par->height > 0;
    const int width = known ? par->width : static_cast<int>(refused.width);
    const int height = known ? par->height : static_cast<int>(refused.height);
    const std::int64_t pixels = std::int64_t{width} * height;
    FS_CHECK(pixels <= s.opt.max_pixels, kUnsupported,
             s.name << ": its pictures are " << width << "x" << height << " (" << pixels
                    << " pixels), more than the limit of " << s.opt.max_pixels
                    << "; framescribe does not decode pictures that large");
  }
  s.dec.reset(avcodec_alloc_context3(codec));
  FS_CHECK(s.dec, kOutOfMemory, s.name << ": cannot allocate a decoder");
  ret = avcodec_parameters_to_context(s.dec.get(), s.stream->codecpar);
  FS_CHECK(ret >= 0, kUnsupported,
           s.name << ": bad codec parameters (" << av_error_string(ret) << ")");
  s.dec->pkt_timebase = s.stream->time_base;
  s.dec->thread_count = std::max(0, s.opt.decoder_threads);
  s.dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (s.opt.keyframes_only) s.dec->skip_frame = AVDISCARD_NONKEY;
  if (s.opt.max_pixels > 0) s.dec->max_pixels = s.opt.max_pixels;
  ret = avcodec_open2(s.dec.get(), codec, nullptr);
  FS_CHECK(
      ret >= 0, kUnsupported,
      s.name << ": cannot open the " << codec->name << " decoder (" << av_error_string(ret) << ")");
  s.pkt.reset(av_packet_alloc());
  s.frame.reset(av_frame_alloc());
  FS_CHECK(s.pkt && s.frame, kOutOfMemory, s.name << ": cannot allocate packet/frame");

  s.time_base = s.stream->time_base;
  if (s.time_base.num <= 0 || s.time_base.den <= 0) s.time_base = {1, 90000};
  if (s.stream->start_time != AV_NOPTS_VALUE) {
    s.start_pts = s.stream->start_time;
  } else if (fmt->start_time != AV_NOPTS_VALUE) {
    s.start_pts = av_rescale_q(fmt->start_time, kAvTimeBase, s.time_base);
  }

  // Stream description.
  StreamInfo& in = s.info;
  const AVCodecParameters* par = s.stream->codecpar;
  in.url = s.name;
  in.stream_index = idx;
  in.container = fmt->iformat->long_name ? fmt->iformat->long_name : fmt->iformat->name;
  in.codec = avcodec_get_name(par->codec_id);
  if (const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
      desc && desc->long_name) {
    in.codec_long = desc->long_name;
  }
  if (const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(par->format))) {
    in.pixel_format = pd->name;
    in.bit_depth = pd->comp[0].depth;
  }
  in.coded_width_px = par->width;
  in.coded_height_px = par->height;
  AVRational sar = av_guess_sample_aspect_ratio(fmt, s.stream, nullptr);
  if (sar.num > 0 && sar.den > 0) {
    in.sar_num = sar.num;
    in.sar_den = sar.den;
  }
  std::size_t sd_size = 0;
  const std::uint8_t* sd = av_stream_get_side_data(s.stream, AV_PKT_DATA_DISPLAYMATRIX, &sd_size);
  s.stream_rotation_deg = std::max(0, rotation_from_matrix(sd, sd_size));
  in.rotation_deg = s.stream_rotation_deg;
  if (par->width > 0 && par->height > 0) {
    display_size(par->width, par->height, sar, in.rotation_deg, &in.display_width_px,
                 &in.display_height_px);
  }
  AVRational rate = av_guess_frame_rate(fmt, s.stream, nullptr);
  if (rate.num > 0 && rate.den > 0) {
    in.frame_rate = av_q2d(rate);
    s.nominal_frame_ns = av_rescale_q(1, av_inv_q(rate), kNsTimeBase);
    // A frame interval beyond an hour is a damaged header, not a frame rate: treat as unknown
    // (it also keeps the interval arithmetic below far from overflow).
    if (s.nominal_frame_ns <= 0 || s.nominal_frame_ns > 3'600'000'000'000LL) s.nominal_frame_ns = 0;
  }
  if (s.stream->duration != AV_NOPTS_VALUE && s.stream->duration > 0) {
    in.duration_ns = av_rescale_q(s.stream->duration, s.time_base, kNsTimeBase);
  } else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    in.duration_ns = av_rescale_q(fmt->duration, kAvTimeBase, kNsTimeBase);
  }
  in.frame_count = std::max<std::int64_t>(0, s.stream->nb_frames);
  in.bit_rate = par->bit_rate > 0 ? par->bit_rate : std::max<std::int64_t>(0, fmt->bit_rate);
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) in.has_audio = true;
  }

  if (s.opt.keyframes_only || s.opt.sample_fps > 0) s.index_exact = false;
  if (s.opt.start_ns > 0) {
    s.index_exact = false;
    std::int64_t target = av_rescale_q(s.opt.start_ns, kNsTimeBase, s.time_base);
    // A seek lands on the keyframe at or before the target; frames before the start are then
    // decoded (needed as references) but never handed out.
    ret = av_seek_frame(fmt, idx, s.start_pts + target, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
      FS_LOG_WARN(s.name << ": cannot seek to " << core::ns_to_seconds(s.opt.start_ns) << " s ("
                         << av_error_string(ret) << "); decoding from the start instead");
    }
  }
  return impl;
}

std::optional<DecodedFrame> FfmpegSource::next() {
  Impl& s = *impl_;
  while (!s.ended) {
    if (s.stop_requested()) {
      s.stats.stopped = true;
      s.ended = true;
      break;
    }
    int ret = avcodec_receive_frame(s.dec.get(), s.frame.get());
    if (ret == 0) {
      s.consecutive_errors = 0;
      if (std::optional<DecodedFrame> f = take_frame()) return f;
      continue;
    }
    if (ret == AVERROR_EOF) {
      s.ended = true;
      break;
    }
    if (ret != AVERROR(EAGAIN)) {
      note_decode_error(ret);
      continue;
    }
    if (s.draining) {  // a decoder that wants input while draining: nothing more will come
      s.ended = true;
      break;
    }
    ret = av_read_frame(s.fmt.get(), s.pkt.get());
    if (ret < 0) {
      if (ret == AVERROR_EXIT || s.stop_requested()) continue;  // reported at the loop top
      if (ret != AVERROR_EOF && ret != AVERROR(EAGAIN)) {
        ++s.stats.read_errors;
        s.stats.ended_early = true;
        FS_LOG_WARN(s.name << ": read error (" << av_error_string(ret)
                           << "); the input ends here, frames decoded so far are kept");
      }
      if (ret == AVERROR(EAGAIN)) continue;
      s.draining = true;
      avcodec_send_packet(s.dec.get(), nullptr);  // drain: the frames still inside come out
      continue;
    }
    if (s.pkt->stream_index != s.stream->index) {
      av_packet_unref(s.pkt.get());
      continue;
    }
    ++s.stats.packets;
    if (s.pkt->flags & AV_PKT_FLAG_CORRUPT) {
      if (++s.stats.corrupt_packets == 1) FS_LOG_WARN(s.name << ": damaged packet(s) in the input");
    }
    if (s.opt.keyframes_only && !(s.pkt->flags & AV_PKT_FLAG_KEY)) {
      ++s.stats.packets_skipped;  // never decoded: what makes keyframe mode cheap
      av_packet_unref(s.pkt.get());
      continue;
    }
    if (s.opt.sample_fps > 0 && s.nominal_frame_ns > 0 && !s.opt.keyframes_only) {
      // Per-packet: decode non-reference frames only near a tick (the decoder reads skip_frame
      // when the packet is submitted, also with frame threads).
      AVDiscard want = AVDISCARD_DEFAULT;
      std::int64_t rel = 0;
      if (s.pkt->pts != AV_NOPTS_VALUE && !__builtin_sub_overflow(s.pkt->pts, s.start_pts, &rel)) {
        const std::int64_t pkt_ns = av_rescale_q(rel, s.time_base, kNsTimeBase);
        if (far_from_tick(pkt_ns)) {
          want = AVDISCARD_NONREF;
          // Remembered so that the hole it may leave is not taken for damage (note_interval).
          if (s.skipped_pts_ns.size() >= kMaxSkippedPts)
            s.skipped_pts_ns.erase(s.skipped_pts_ns.begin());
          s.skipped_pts_ns.push_back(pkt_ns);
        }
      }
      s.dec->skip_frame = want;
    }
    ret = avcodec_send_packet(s.dec.get(), s.pkt.get());
    av_packet_unref(s.pkt.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) note_decode_error(ret);
  }
  finish_stats();
  return std::nullopt;
}

void FfmpegSource::note_decode_error(int ret) {
  Impl& s = *impl_;
  if (++s.stats.decode_errors <= 3) {
    FS_LOG_WARN(s.name << ": cannot decode a packet (" << av_error_string(ret)
                       << "); skipping damaged data");
  }
  if (++s.consecutive_errors >= kMaxConsecutiveErrors) {
    s.stats.ended_early = true;
    s.ended = true;
    FS_LOG_WARN(s.name << ": " << kMaxConsecutiveErrors
                       << " decoding errors in a row; giving up on the rest of the input");
  }
}

void FfmpegSource::finish_stats() {
  Impl& s = *impl_;
  if (s.draining && s.ended && !s.stats.ended_early && !s.stats.stopped) {
    // The container said how long the stream is; a stream that stops well short of that was
    // cut off (a truncated download, a recording that did not finish).
    const bool few_frames =
        s.index_exact && s.info.frame_count > 0 && s.stats.frames_decoded + 1 < s.info.frame_count;
    const bool short_time =
        !s.opt.keyframes_only && s.info.duration_ns > 0 && s.nominal_frame_ns > 0 &&
        s.last_pts_ns != core::kNoTimestamp &&
        static_cast<double>(s.last_pts_ns) + 2.0 * static_cast<double>(s.nominal_frame_ns) <=
            static_cast<double>(s.info.duration_ns);
    if (few_frames || short_time) {
      s.stats.ended_early = true;
      FS_LOG_WARN(
          s.name << ": the video stops at "
                 << (s.last_pts_ns == core::kNoTimestamp ? 0.0 : core::ns_to_seconds(s.last_pts_ns))
                 << " s after " << s.stats.frames_decoded << " frames, but the file announces "
                 << core::ns_to_seconds(s.info.duration_ns) << " s"
                 << (s.info.frame_count > 0 ? " / " + std::to_string(s.info.frame_count) + " frames"
                                            : "")
                 << "; it looks truncated or damaged");
    }
  }
  if (s.stats.frames_damaged > 0 && !s.damage_reported) {
    s.damage_reported = true;
    FS_LOG_WARN(
        s.name
        << ": " << s.stats.frames_damaged
        << " frame(s) decoded with errors (damaged data); their pictures may show artefacts");
  }
  if (s.stats.decode_errors > 3 && !s.draining_reported) {
    s.draining_reported = true;
    FS_LOG_WARN(s.name << ": " << s.stats.decode_errors << " decoding errors in total");
  }
}

bool FfmpegSource::far_from_tick(std::int64_t pts_ns) const {
  // A frame more than two frame intervals from every sampling tick is never the one a tick
  // takes, so the decoder may skip it when no other frame refers to it.
  const Impl& s = *impl_;
  if (s.opt.sample_fps <= 0 || s.nominal_frame_ns <= 0) return false;
  const double t_ns = static_cast<double>(pts_ns) - static_cast<double>(s.opt.start_ns);
  const double period_ns = 1e9 / s.opt.sample_fps;
  const double off = std::abs(t_ns - std::round(t_ns / period_ns) * period_ns);
  return off > 2.0 * static_cast<double>(s.nominal_frame_ns);
}

void FfmpegSource::note_interval(std::int64_t pts_ns) {
  // Demuxers that resync after damage (MPEG-TS) drop whole packets without an error; the only
  // trace is a hole in otherwise regular timestamps. After a long regular run, a jump of more
  // than 1.5 frame intervals is reported (it may also be a genuine frame-rate change, hence
  // the wording and the long run required first).
  Impl& s = *impl_;
  if (s.last_pts_ns == core::kNoTimestamp || s.nominal_frame_ns <= 0 || s.opt.keyframes_only)
    return;
  // In double: timestamps from a damaged stream can be anywhere in int64 (found by the fuzzer).
  const double nominal = static_cast<double>(s.nominal_frame_ns);
  const double step = static_cast<double>(pts_ns) - static_cast<double>(s.last_pts_ns);
  if (step >= 0.9 * nominal && step <= 1.1 * nominal) {
    ++s.regular_run;
    return;
  }
  if (step > 1.5 * nominal) {
    const auto missing =
        static_cast<std::int64_t>(std::min(std::round(step / nominal) - 1.0, 1e15));
    // With --fps sampling the decoder skips non-reference frames far from a tick on purpose
    // (read loop): such a hole is no damage, and the regular run goes on across it, so that a
    // real hole later is still seen. The hole is deliberate when every frame missing from it
    // was a packet sent for skipping; the packets' own times are compared, not times
    // reconstructed from the frame interval (B-frames: the decoder's order and rounding made
    // the arithmetic disagree by a nanosecond and clean x264 files were reported damaged).
    if (s.opt.sample_fps > 0 && !s.skipped_pts_ns.empty()) {
      const double half = 0.5 * nominal;
      std::int64_t skipped = 0;
      for (const std::int64_t t : s.skipped_pts_ns) {
        const double d = static_cast<double>(t);
        if (d > static_cast<double>(s.last_pts_ns) + half && d < static_cast<double>(pts_ns) - half)
          ++skipped;
      }
      if (skipped >= missing) return;
    }
    if (s.regular_run >= 25) {
      s.stats.frames_missing += missing;
      FS_LOG_WARN(s.name << ": timestamps jump from " << core::ns_to_seconds(s.last_pts_ns)
                         << " s to " << core::ns_to_seconds(pts_ns) << " s (about " << missing
                         << " frame(s) missing: damaged input, or a frame-rate change)");
    }
  }
  s.regular_run = 0;
}

std::optional<DecodedFrame> FfmpegSource::take_frame() {
  Impl& s = *impl_;
  AVFrame* av = s.frame.get();
  ++s.stats.frames_decoded;
  const std::int64_t decoded_index = s.stats.frames_decoded - 1;

  std::int64_t duration_ns = s.nominal_frame_ns;
  if (av->pkt_duration > 0) {
    std::int64_t d = av_rescale_q(av->pkt_duration, s.time_base, kNsTimeBase);
    if (d > 0 && d != std::numeric_limits<std::int64_t>::min()) duration_ns = d;
  }
  std::int64_t pts_ns = core::kNoTimestamp;
  std::int64_t ts = av->best_effort_timestamp;
  std::int64_t rel = 0;
  if (ts != AV_NOPTS_VALUE && !__builtin_sub_overflow(ts, s.start_pts, &rel)) {
    pts_ns = av_rescale_q(rel, s.time_base, kNsTimeBase);  // INT64_MIN on overflow
  }
  if (pts_ns == core::kNoTimestamp) {
    // No usable timestamp: one frame after the previous one (or the stream start).
    std::int64_t next = 0;
    if (s.last_pts_ns != core::kNoTimestamp &&
        __builtin_add_overflow(s.last_pts_ns, std::max<std::int64_t>(duration_ns, 1), &next)) {
      next = std::numeric_limits<std::int64_t>::max();
    }
    pts_ns = next;
  }
  if (s.last_pts_ns != core::kNoTimestamp && pts_ns <= s.last_pts_ns) {
    if (++s.stats.frames_dropped == 1) {
      FS_LOG_WARN(s.name << ": a frame at " << core::ns_to_seconds(pts_ns)
                         << " s is not after the previous one; dropping out-of-order frames");
    }
    av_frame_unref(av);
    return std::nullopt;
  }
  if (s.opt.start_ns > 0 && pts_ns < s.opt.start_ns) {
    ++s.stats.frames_dropped;  // decoded only as a reference for what follows the start
    av_frame_unref(av);
    return std::nullopt;
  }
  note_interval(pts_ns);
  s.last_pts_ns = pts_ns;
  // Packets come in decode order, frames in presentation order: a skipped packet's time is kept
  // until a decoded frame has passed it.
  std::erase_if(s.skipped_pts_ns, [pts_ns](std::int64_t t) { return t <= pts_ns; });

  if ((av->flags & AV_FRAME_FLAG_CORRUPT) || av->decode_error_flags != 0) ++s.stats.frames_damaged;
  if (s.info.pixel_format.empty()) {
    // The stream parameters did not say it (an http input probed from fewer bytes): the first
    // decoded picture does.
    if (const AVPixFmtDescriptor* pd =
            av_pix_fmt_desc_get(static_cast<AVPixelFormat>(av->format))) {
      s.info.pixel_format = pd->name;
      s.info.bit_depth = pd->comp[0].depth;
    }
  }

  DecodedFrame out;
  out.av.reset(av_frame_alloc());
  if (!out.av) {
    av_frame_unref(av);
    return std::nullopt;
  }
  av_frame_move_ref(out.av.get(), av);
  out.pts_ns = pts_ns;
  out.duration_ns = duration_ns;
  out.keyframe = out.av->key_frame != 0;
  if (s.index_exact) {
    out.index = decoded_index;
  } else if (s.info.frame_rate > 0) {
    out.index = std::llround(core::ns_to_seconds(pts_ns) * s.info.frame_rate);
  }
  int rotation = s.stream_rotation_deg;
  if (const AVFrameSideData* sd =
          av_frame_get_side_data(out.av.get(), AV_FRAME_DATA_DISPLAYMATRIX)) {
    int r = rotation_from_matrix(sd->data, sd->size);
    if (r >= 0) rotation = r;
  }
  AVRational sar = av_guess_sample_aspect_ratio(s.fmt.get(), s.stream, out.av.get());
  display_size(out.av->width, out.av->height, sar, rotation, &out.display_width_px,
               &out.display_height_px);
  out.rotation_deg = rotation;
  return out;
}

}  // namespace framescribe::decoder
