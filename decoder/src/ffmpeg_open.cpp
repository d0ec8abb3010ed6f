// Opening an input (FfmpegSource::open): the input check, custom I/O, probing with nested-input
// formats refused before their header is read, the pixel limit, the video stream and its
// decoder, StreamInfo, the seek to the start. Setup errors throw framescribe::Error naming the
// input (credentials redacted) and suggesting a fix. The decode loop is in ffmpeg_source.cpp.
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

constexpr AVRational kAvTimeBase{1, AV_TIME_BASE};  // AV_TIME_BASE_Q is a C compound literal
constexpr int kIoBufferBytes = 64 * 1024;

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

}  // namespace framescribe::decoder
