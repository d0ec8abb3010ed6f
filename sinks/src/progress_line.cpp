#include "framescribe/sinks/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "framescribe/core/log.h"

namespace framescribe::sinks {

namespace {
double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
constexpr const char* kClearLine = "\r\033[K";
}  // namespace

struct ProgressLine::State {
  std::mutex mutex;
  bool enabled = false;
  std::FILE* out = stderr;
  bool tty = false;
  double plain_interval_s = 10, quiet_s = 0.5;
  double started = 0, last = -1;
  bool drawn = false;  // a terminal line is on screen, without its newline
  void clear_locked() {
    if (drawn) std::fputs(kClearLine, out);
    drawn = false;
  }
};

ProgressLine::ProgressLine(bool enabled, std::FILE* out, std::optional<bool> tty,
                           double plain_interval_s, double quiet_s)
    : s_(std::make_shared<State>()) {
  s_->enabled = enabled;
  s_->out = out;
  s_->tty = tty ? *tty : isatty(fileno(out)) != 0;
  s_->plain_interval_s = plain_interval_s;
  s_->quiet_s = quiet_s;
  s_->started = now_s();
  if (!enabled || !s_->tty) return;
  // Log messages clear the line first (the logger's lock is held here; show() takes only ours).
  std::weak_ptr<State> weak = s_;
  core::set_log_sink([weak](core::LogLevel level, std::string_view message) {
    const std::string line =
        "framescribe: " + std::string(core::to_string(level)) + ": " + std::string(message) + "\n";
    if (auto s = weak.lock()) {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->clear_locked();
      std::fwrite(line.data(), 1, line.size(), s->out);
      std::fflush(s->out);
    } else {
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  });
}

ProgressLine::~ProgressLine() {
  if (s_->enabled && s_->tty) core::set_log_sink(nullptr);
  clear();
}

bool ProgressLine::tty() const {
  return s_->tty;
}

bool ProgressLine::due() const {
  if (!s_->enabled) return false;
  std::lock_guard<std::mutex> lock(s_->mutex);
  const double t = now_s();
  if (t - s_->started < s_->quiet_s) return false;
  return s_->last < 0 || t - s_->last >= (s_->tty ? 0.5 : s_->plain_interval_s);
}

void ProgressLine::show(const std::string& text, bool force) {
  if (!s_->enabled || (!force && !due())) return;
  std::lock_guard<std::mutex> lock(s_->mutex);
  s_->last = now_s();
  if (s_->tty) {
    std::fprintf(s_->out, "%s%s", kClearLine, text.c_str());
    s_->drawn = true;
  } else {
    std::fprintf(s_->out, "%s\n", text.c_str());
  }
  std::fflush(s_->out);
}

void ProgressLine::print_line(const std::string& text) {
  if (!s_->enabled) return;
  std::lock_guard<std::mutex> lock(s_->mutex);
  s_->clear_locked();
  std::fprintf(s_->out, "%s\n", text.c_str());
  std::fflush(s_->out);
}

void ProgressLine::clear() {
  std::lock_guard<std::mutex> lock(s_->mutex);
  s_->clear_locked();
  std::fflush(s_->out);
}

}  // namespace framescribe::sinks
