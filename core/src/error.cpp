#include "framescribe/core/error.h"

#include <cstdio>
#include <cstdlib>

namespace framescribe {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kMalformedModel:
      return "malformed model";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kOutOfMemory:
      return "out of memory";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

namespace detail {

void assert_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "framescribe: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

void throw_error(ErrorCode code, const std::string& message) {
  throw Error(code, message);
}

}  // namespace detail
}  // namespace framescribe
