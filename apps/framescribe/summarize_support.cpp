#include "summarize_support.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "framescribe/core/error.h"

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
}  // namespace

SummarizeProgress::SummarizeProgress(std::string video, bool enabled)
    : video_(std::move(video)), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}

void SummarizeProgress::update(const pipeline::PipelineStats& s) {
  if (!enabled_) return;
  const double t = now_s();
  if (last_ >= 0 && t - last_ < (tty_ ? 0.5 : 10.0)) return;
  if (last_ < 0) {
    last_ = t;  // quiet for the first moment: short runs print nothing
    return;
  }
  last_ = t;
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
  std::fprintf(stderr, tty_ ? "\r\033[K%s" : "%s\n", line.c_str());
  std::fflush(stderr);
  printed_ = true;
}

void SummarizeProgress::done(const pipeline::PipelineStats&) {
  if (printed_ && tty_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace framescribe::apps
