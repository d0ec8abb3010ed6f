#include "framescribe/decoder/image_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "framescribe/core/error.h"
#include "framescribe/decoder/av_ptr.h"

namespace framescribe::decoder {

std::vector<std::uint8_t> encode_png(const core::ImageView& image) {
  FS_CHECK(!image.empty(), kInvalidArgument, "cannot write an empty image");
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  FS_CHECK(codec, kUnsupported, "this FFmpeg build has no PNG encoder");
  AvCodecContextPtr enc(avcodec_alloc_context3(codec));
  FS_CHECK(enc, kOutOfMemory, "cannot allocate a PNG encoder");
  enc->width = image.width_px;
  enc->height = image.height_px;
  enc->pix_fmt = image.format == core::PixelFormat::kRgb8 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_RGBA;
  enc->time_base = {1, 1};
  enc->compression_level = 3;  // fast; the files are small already
  int ret = avcodec_open2(enc.get(), codec, nullptr);
  FS_CHECK(ret >= 0, kInternal, "cannot open the PNG encoder (error " << ret << ")");

  AvFramePtr frame(av_frame_alloc());
  AvPacketPtr pkt(av_packet_alloc());
  FS_CHECK(frame && pkt, kOutOfMemory, "cannot allocate a frame for PNG encoding");
  frame->format = enc->pix_fmt;
  frame->width = image.width_px;
  frame->height = image.height_px;
  // The encoder only reads the picture; point the frame at the caller's pixels, no copy.
  frame->data[0] = const_cast<std::uint8_t*>(image.data);
  frame->linesize[0] = static_cast<int>(image.stride_bytes);
  ret = avcodec_send_frame(enc.get(), frame.get());
  FS_CHECK(ret >= 0, kInternal, "PNG encoding failed (error " << ret << ")");
  ret = avcodec_receive_packet(enc.get(), pkt.get());
  FS_CHECK(ret >= 0, kInternal, "PNG encoding produced no data (error " << ret << ")");
  std::vector<std::uint8_t> bytes(pkt->data, pkt->data + pkt->size);
  return bytes;
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  // A fresh temporary beside the target (O_EXCL | O_NOFOLLOW: never an existing file or a
  // link someone placed there), then rename(2), which replaces whatever `path` is - a symlink
  // included - instead of writing through it. The sinks' AtomicFile does the same; the decoder
  // cannot depend on sinks.
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path tmp =
      path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  FS_CHECK(fd >= 0, kIo,
           path.string() << ": cannot create the file (" << std::strerror(errno)
                         << "); does the directory exist and is it writable?");
  std::size_t done = 0;
  int err = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    FS_FAIL(kIo, path.string() << ": write failed (" << std::strerror(err) << "; disk full?)");
  }
}

void write_png(const std::filesystem::path& path, const core::ImageView& image) {
  write_file_atomic(path, encode_png(image));
}

}  // namespace framescribe::decoder
