#include "framescribe/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace framescribe::core {
namespace {
std::mutex g_mutex;
LogSink g_sink;  // empty: the default stderr sink
std::atomic<LogLevel> g_level{LogLevel::kInfo};
}  // namespace

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

void set_log_sink(LogSink sink) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_sink = std::move(sink);
}

void set_log_level(LogLevel level) {
  g_level.store(level);
}
LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view message) {
  if (level < log_level()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  std::string line =
      "framescribe: " + std::string(to_string(level)) + ": " + std::string(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace framescribe::core
