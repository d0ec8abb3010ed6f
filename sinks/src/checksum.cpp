#include "framescribe/sinks/checksum.h"

extern "C" {
#include <libavutil/hash.h>
}

#include <cstdint>
#include <fstream>
#include <memory>
#include <vector>

#include "framescribe/core/error.h"

namespace framescribe::sinks {

namespace fs = std::filesystem;

std::string sha256_file(const fs::path& path) {
  AVHashContext* raw = nullptr;
  FS_CHECK(av_hash_alloc(&raw, "SHA256") >= 0 && raw != nullptr, kOutOfMemory,
           "cannot allocate a SHA-256 context");
  const std::unique_ptr<AVHashContext, void (*)(AVHashContext*)> ctx(
      raw, [](AVHashContext* c) { av_hash_freep(&c); });
  av_hash_init(ctx.get());
  std::ifstream in(path, std::ios::binary);
  FS_CHECK(in.good(), kIo, path.string() << ": cannot read it to checksum it");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n > 0)
      av_hash_update(ctx.get(), reinterpret_cast<const std::uint8_t*>(buf.data()),
                     static_cast<std::size_t>(n));
  }
  FS_CHECK(in.eof(), kIo, path.string() << ": read error while checksumming");
  std::uint8_t hex[2 * AV_HASH_MAX_SIZE + 1] = {};
  av_hash_final_hex(ctx.get(), hex, sizeof hex);
  return std::string(reinterpret_cast<const char*>(hex));
}

}  // namespace framescribe::sinks
