#include "summarize_support.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

namespace framescribe::apps {

const char* const kSummarizeHelp =
    "What it does: samples frames (default --fps 1, longest edge 512 px), packs them into\n"
    "windows that fill the model's context (each frame preceded by its timestamp, e.g.\n"
    "[01:05.0]), asks the model for one event per line as [start-end] text, reads the times back\n"
    "(rebased and clamped to the window), drops repeats from overlapping windows, and makes a\n"
    "summary of the whole video at the end (as many passes as the context needs).\n"
    "Outputs (--out DIR): DIR/<video>.jsonl (one event per line), .srt, .vtt, .md and .html (a\n"
    "self-contained report with thumbnails). Files appear complete when the video is done; an\n"
    "earlier run's files stay untouched until then.\n"
    "Window prompt variables: {start} {end} (first and last frame times), {video}, {n_frames}.\n"
    "Ctrl-C once: finish the current window, write the outputs of what was done, exit 130;\n"
    "twice: abandon the current window too.\n"
    "Model: --model DIR, else $FRAMESCRIBE_MODEL, else the demo model in\n"
    "samples/models/framescribe-demo when it is there (it knows only synthetic moving shapes).\n"
    "A model's framescribe.json may recommend --fps, --max-edge and --max-tokens; what you give\n"
    "on the command line wins.\n"
    "Examples:\n"
    "  framescribe summarize talk.mp4 -m models/pixtral-12b --out out/\n"
    "  framescribe summarize cam.mp4 -m M --fps 2 --window-seconds 60 --overlap 10 --format "
    "srt,html -o out\n"
    "  framescribe summarize talk.mp4 -m M --dry-run --json     # the windows, no weights loaded";

std::int64_t seconds_to_ns_checked(double seconds, const char* option) {
  FS_CHECK(std::isfinite(seconds) && seconds >= 0 && seconds < 1e9, kInvalidArgument,
           option << " must be a number of seconds >= 0, got " << seconds);
  return std::llround(seconds * 1e9);
}

std::string format_duration(double s) {
  char buf[64];
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) / 60) % 60);
  }
  return buf;
}

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

SummarizeProgress::SummarizeProgress(std::string video, bool enabled)
    : video_(std::move(video)), line_(enabled) {}

void SummarizeProgress::update(const pipeline::PipelineStats& s) {
  if (!line_.due()) return;
  const double done_s = core::ns_to_seconds(s.media_done_ns);
  const double total_s =
      s.media_end_ns == core::kNoTimestamp ? 0 : core::ns_to_seconds(s.media_end_ns);
  const double speed = s.wall_s > 0 ? done_s / s.wall_s : 0;
  std::string line = video_ + ": ";
  char buf[256];
  if (s.summarizing) {
    line += "summarising";
  } else {
    if (total_s > 0) {
      std::snprintf(
          buf, sizeof buf, "%s / %s (%.0f%%)", core::format_timestamp(s.media_done_ns).c_str(),
          core::format_timestamp(s.media_end_ns).c_str(), 100.0 * std::min(1.0, done_s / total_s));
    } else {
      std::snprintf(buf, sizeof buf, "%s", core::format_timestamp(s.media_done_ns).c_str());
    }
    line += buf;
    std::snprintf(buf, sizeof buf, ", %lld frames, %lld windows, %.2fx real time",
                  static_cast<long long>(s.frames_sampled), static_cast<long long>(s.windows_done),
                  speed);
    line += buf;
    if (total_s > 0 && speed > 0 && done_s > 0)
      line += ", ETA " + format_duration((total_s - done_s) / speed);
  }
  line_.show(line);
}

void SummarizeProgress::done(const pipeline::PipelineStats&) {
  line_.clear();
}

}  // namespace framescribe::apps
