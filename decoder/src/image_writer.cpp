#include "framescribe/decoder/image_writer.h"

#include <cstring>
#include <fstream>

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

void write_png(const std::filesystem::path& path, const core::ImageView& image) {
  std::vector<std::uint8_t> bytes = encode_png(image);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  FS_CHECK(
      out, kIo,
      path.string() << ": cannot create the file; does the directory exist and is it writable?");
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  FS_CHECK(out, kIo, path.string() << ": write failed (disk full?)");
}

}  // namespace framescribe::decoder
