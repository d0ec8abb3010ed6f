// Errors and check macros shared by every module.
//
//   if (header_len > file_size)
//     throw framescribe::Error(framescribe::ErrorCode::kMalformedModel,
//                              path + ": header length past the end of the file");
//   FS_CHECK(n > 0, kInvalidArgument, "n must be positive, got " << n);
//   FS_ASSERT(row < rows);   // a bug if false: logs and aborts
//
// Tiers (docs/architecture.md, "Errors"): FS_ASSERT for invariants (aborts), Error for setup
// failures (caught once in main), return values for expected per-item failures.
// Everything here is thread-safe; nothing here owns global state.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace framescribe {

enum class ErrorCode {
  kInvalidArgument,  // a caller or user passed something impossible
  kNotFound,         // a file, tensor or key that must exist does not
  kMalformedModel,   // a model, config or tokenizer file that cannot be what it claims
  kUnsupported,      // well-formed but outside what framescribe implements
  kIo,               // the OS refused (open, mmap, read, write)
  kOutOfMemory,      // an allocation failed at load time
  kCancelled,        // a stop was requested
  kInternal,         // should not happen; a bug report is welcome
};

std::string_view to_string(ErrorCode code) noexcept;

// The one exception type of the project. The message names the file, key or stream involved
// and, where one exists, the fix.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
[[noreturn]] void throw_error(ErrorCode code, const std::string& message);
}  // namespace detail

}  // namespace framescribe

// Invariant check: a false condition is a bug. Logs expression, file and line, then aborts.
#define FS_ASSERT(cond)                                                \
  do {                                                                 \
    if (!(cond)) [[unlikely]] {                                        \
      ::framescribe::detail::assert_failed(#cond, __FILE__, __LINE__); \
    }                                                                  \
  } while (0)

// Setup check: throws framescribe::Error{ErrorCode::code, message}. `msg` is a stream
// expression: FS_CHECK(ok, kMalformedModel, path << ": expected " << n << " bytes").
#define FS_CHECK(cond, code, msg)                                                             \
  do {                                                                                        \
    if (!(cond)) [[unlikely]] {                                                               \
      std::ostringstream fs_check_os_;                                                        \
      fs_check_os_ << msg;                                                                    \
      ::framescribe::detail::throw_error(::framescribe::ErrorCode::code, fs_check_os_.str()); \
    }                                                                                         \
  } while (0)

#define FS_FAIL(code, msg) FS_CHECK(false, code, msg)
