// Output formats for a run: each factory returns a core::EventSink (see core/sink.h for the
// call order and the atomic-file contract).
//
//   for (const std::string& f : sinks::parse_formats("console,srt,html"))
//     all.push_back(sinks::make_sink(f, "out", "talk", stdout));  // out/talk.srt, out/talk.html
//   auto srt = sinks::make_srt_sink("out/talk.srt");
//   srt->begin(run); srt->on_window(w); srt->finish(end);  // out/talk.srt appears only now
//
// Ownership: a sink owns its temporary file and whatever it buffers (events; for HTML the JPEG
// thumbnails, never the frames). The console sink does not own `out`; it must outlive the sink.
// Threads: a sink is used by one thread at a time (core::EventSink's contract); distinct sinks
// are independent. The factories are thread-safe.
// Errors: a file that cannot be created, written or renamed throws framescribe::Error(kIo)
// naming the path (from begin(), on_window() or finish()); bad arguments throw kInvalidArgument.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/sink.h"

namespace framescribe::sinks {

// Each event as it arrives, "[00:05.0 - 00:12.0] text" ("[00:05.0] text" for an instant), and
// at finish the summary and a one-line tally. Writes to `out` (stdout when null); no file.
std::unique_ptr<core::EventSink> make_console_sink(std::FILE* out);

// JSON Lines: one object per event, {"type":"event","video","start","end","text","window",
// "frame_times","model","prompt_hash","timed"} (times in seconds, rounded to the microsecond),
// then at finish one {"type":"summary","video","summary","status","reason" (when not complete),
// "events","windows","frames_sampled","frames_skipped","model"}. Lines are streamed into the
// temporary file (flushed per window) and the file is renamed over `path` at finish.
std::unique_ptr<core::EventSink> make_jsonl_sink(const std::filesystem::path& path);

// SubRip and WebVTT subtitles: cues numbered from 1, sorted by start (ties keep arrival
// order). An event with end <= start is shown for 1 s, or until the next later-starting cue if
// that comes sooner. Cue text has no blank lines and no "-->" ("->" instead); WebVTT escapes
// &, < and >.
std::unique_ptr<core::EventSink> make_srt_sink(const std::filesystem::path& path);
std::unique_ptr<core::EventSink> make_vtt_sink(const std::filesystem::path& path);

// A Markdown report: the video as title, run facts, a note if the run stopped or failed, the
// summary and a table of events sorted by start.
std::unique_ptr<core::EventSink> make_markdown_sink(const std::filesystem::path& path);

struct HtmlOptions {
  int thumb_width_px = 192;  // 16..2048; the height keeps the frame's aspect ratio
  int jpeg_quality = 80;     // 1 (smallest) .. 100 (best), mapped onto FFmpeg's qscale 31..2
};

// One self-contained HTML page (inline CSS, thumbnails as data: URIs, no external resources):
// run facts, summary, a timeline with a mark per event, and the events (elements of class
// "event" with data-start/data-end in seconds), each with a JPEG thumbnail of the window frame
// nearest to its start, encoded when the window arrives.
std::unique_ptr<core::EventSink> make_html_sink(const std::filesystem::path& path,
                                                HtmlOptions options = {});

// The format names, in this order: console, jsonl, srt, vtt, md, html.
const std::vector<std::string>& format_names();

// "jsonl, srt" -> {"jsonl", "srt"}; "all" -> every format. Spaces around names are ignored,
// repeats are dropped. An empty list or an unknown name throws Error(kInvalidArgument) that
// lists the valid names.
std::vector<std::string> parse_formats(std::string_view list);

// The sink for one format name: "console" writes to `console` (stdout when null); the others
// write `<out_dir>/<stem>.jsonl|.srt|.vtt|.md|.html`. Throws Error(kInvalidArgument) for an
// unknown format or an empty stem.
std::unique_ptr<core::EventSink> make_sink(std::string_view format,
                                           const std::filesystem::path& out_dir,
                                           std::string_view stem, std::FILE* console);

}  // namespace framescribe::sinks
