// A logging hook: library code reports through log(), the application decides where it goes.
//
//   framescribe::core::set_log_sink([](LogLevel lvl, std::string_view msg) { ... });
//   framescribe::core::set_log_level(LogLevel::kDebug);
//   FS_LOG_INFO("loaded " << n << " tensors from " << path);
//
// The default sink writes "framescribe: <level>: <message>" to stderr. set_log_sink and
// set_log_level are meant to be called once at start-up; log() is thread-safe.
#pragma once

#include <functional>
#include <sstream>
#include <string_view>

namespace framescribe::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

void set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
LogLevel log_level();
void log(LogLevel level, std::string_view message);
std::string_view to_string(LogLevel level);

}  // namespace framescribe::core

#define FS_LOG(level, msg)                                 \
  do {                                                     \
    if (::framescribe::core::log_level() <= (level)) {     \
      std::ostringstream fs_log_os_;                       \
      fs_log_os_ << msg;                                   \
      ::framescribe::core::log((level), fs_log_os_.str()); \
    }                                                      \
  } while (0)
#define FS_LOG_DEBUG(msg) FS_LOG(::framescribe::core::LogLevel::kDebug, msg)
#define FS_LOG_INFO(msg) FS_LOG(::framescribe::core::LogLevel::kInfo, msg)
#define FS_LOG_WARN(msg) FS_LOG(::framescribe::core::LogLevel::kWarn, msg)
#define FS_LOG_ERROR(msg) FS_LOG(::framescribe::core::LogLevel::kError, msg)
