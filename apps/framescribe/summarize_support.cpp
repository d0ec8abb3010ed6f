#include "summarize_support.h"

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

}  // namespace framescribe::apps
