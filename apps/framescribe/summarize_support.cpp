#include "summarize_support.h"

#include <algorithm>
#include <cstdio>

#include "framescribe/core/error.h"
#include "framescribe/sinks/progress_line.h"

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

std::string summarize_progress_text(const std::string& video, const pipeline::PipelineStats& s) {
  const double done_s = core::ns_to_seconds(s.media_done_ns);
  const double total_s =
      s.media_end_ns == core::kNoTimestamp ? 0 : core::ns_to_seconds(s.media_end_ns);
  const double speed = s.wall_s > 0 ? done_s / s.wall_s : 0;
  std::string line = video + ": ";
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
      line += ", ETA " + sinks::format_duration((total_s - done_s) / speed);
  }
  return line;
}

std::string media_progress_text(const std::string& what, double at_s, double total_s,
                                long long sampled) {
  char buf[512];
  if (total_s > 0) {
    std::snprintf(buf, sizeof buf, "%s: %.1f / %.1f s (%.0f%%), %lld frames", what.c_str(), at_s,
                  total_s, 100.0 * std::min(1.0, at_s / total_s), sampled);
  } else {
    std::snprintf(buf, sizeof buf, "%s: %.1f s, %lld frames", what.c_str(), at_s, sampled);
  }
  return buf;
}

}  // namespace framescribe::apps
