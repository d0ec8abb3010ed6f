// What the pipeline hands to sinks: windows of frames the model described, the events parsed
// from its answers, and the start and end of a run over one video.
//
//   core::RunInfo run{.video = "talk.mp4", .duration_ns = 95'000'000'000};
//   sink.begin(run);
//   for (each described window, in order) sink.on_window(window);   // window.events are final
//   sink.finish(core::RunEnd{.status = core::RunStatus::kComplete, .summary = "..."});
//
// Plain values: safe to copy and to read from several threads. Frames inside a WindowResult are
// shared, immutable images (no copy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/frame.h"
#include "framescribe/core/image.h"

namespace framescribe::core {

// One thing that happened, in media time of the video (not of the window).
struct Event {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;  // >= start_ns
  std::string text;
  std::int64_t window_id = -1;
  // False when no timestamp could be read from the answer: the event is the whole answer and
  // spans its window.
  bool timed = true;
};

// A window after the engine: what it covered, what the model said, what was parsed from it.
struct WindowResult {
  std::int64_t id = 0;        // 0, 1, 2, ... in media order
  std::int64_t start_ns = 0;  // media time covered: [start_ns, end_ns)
  std::int64_t end_ns = 0;
  std::vector<std::int64_t> frame_pts_ns;            // the frames in the prompt, in order
  std::vector<std::shared_ptr<const Image>> frames;  // their pixels (same order), for thumbnails
  std::int64_t prompt_tokens = 0;
  std::int64_t answer_tokens = 0;
  std::string answer;         // the model's answer, sanitised (sanitize_text): safe to print
  std::string prompt_hash;    // 16 hex digits identifying the prompt (FNV-1a of its token ids)
  std::vector<Event> events;  // parsed, rebased, clamped, de-duplicated against earlier windows
  double engine_ms = 0;       // vision + prefill + decode
};

// What a run is about; given to sinks before the first window.
struct RunInfo {
  std::string video;  // as the user named it, credentials removed
  std::int64_t duration_ns = kNoTimestamp;
  int width_px = 0;  // displayed size of the source
  int height_px = 0;
  std::string model;       // model name or directory
  std::string sampling;    // e.g. "1 fps"
  std::string started_at;  // ISO 8601 UTC
};

enum class RunStatus {
  kComplete,  // every sampled frame was described
  kStopped,   // the user stopped it (Ctrl-C): the windows done so far
  kFailed,    // a fatal error: the windows done before it
  kPartial,   // the input ended early (truncated, a read error): every frame it gave described
};
std::string_view to_string(RunStatus status);

struct RunEnd {
  RunStatus status = RunStatus::kComplete;
  std::string error;    // kFailed: what went wrong
  std::string summary;  // the final summary; empty if none was made
  std::int64_t frames_sampled = 0;
  std::int64_t frames_skipped = 0;  // sampled but in no window (stop, or too large alone)
  std::int64_t windows = 0;
  double wall_s = 0;
  double engine_s = 0;
};

// Model output made safe for every sink: invalid UTF-8 becomes U+FFFD, control characters other
// than newline and tab (C0, DEL, C1) and the bidi override/isolate controls are removed
// (core::TextSanitizer, text_sanitizer.h, which also does it for a stream). Valid text passes
// unchanged otherwise.
std::string sanitize_text(std::string_view text);

// A wall-clock time (ns since 1970, UTC) as ISO 8601: "2026-11-27T03:45:00Z"; with milliseconds
// "2026-11-27T03:45:00.123Z"; with ' ' as separator, for people: "2026-11-27 03:45:00Z".
// Floored to the unit shown, so earlier times never print later. The one formatter of wall-clock
// times (state files, live JSON lines, alerts, the status page).
struct UtcFormat {
  bool milliseconds = false;
  char separator = 'T';
};
std::string format_utc(std::int64_t unix_ns, UtcFormat format = {});

// Wall-clock time now, ISO 8601 in UTC to the second: "2026-11-27T03:45:00Z".
std::string utc_now_iso8601();

// "MM:SS.s" below an hour, "H:MM:SS.s" above: how times are written for people and prompts.
std::string format_timestamp(std::int64_t ns);

}  // namespace framescribe::core
