// SHA-256 checksums of output files (the batch state records one per output, and `batch merge`
// checks them), through libavutil's AVHashContext.
//
//   std::string hex = sinks::sha256_file("out/talk.srt");   // 64 lowercase hex digits
//
// Thread-safe (a context per call). Errors: a file that cannot be read throws Error(kIo) naming
// it; no memory for the context, Error(kOutOfMemory).
#pragma once

#include <filesystem>
#include <string>

namespace framescribe::sinks {

std::string sha256_file(const std::filesystem::path& path);

}  // namespace framescribe::sinks
