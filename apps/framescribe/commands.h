// Subcommands of the framescribe CLI. Each add_*_command registers its options on the app and
// sets the callback that runs it; the callback stores its exit status in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

#include "framescribe/core/error.h"

namespace framescribe::apps {

// Runs `checks` of a command's options (ranges and combinations: --end after --start, --overlap
// shorter than the window, files named by --format need --out, ...). What they refuse with
// Error(kInvalidArgument) is the user's command line, so it becomes a usage error: a
// CLI::ValidationError, which main prints with "Run with --help" and exits 2 for, as CLI11's own
// checks. Other errors (a missing file, a bad model folder) pass through unchanged (exit 1).
template <typename Checks>
void check_usage(Checks&& checks) {
  try {
    checks();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) throw;
    throw CLI::ValidationError(e.what());
  }
}

void add_info_command(CLI::App& app, int* exit_code);
void add_reference_check_command(CLI::App& app, int* exit_code);
void add_tokenize_command(CLI::App& app, int* exit_code);
void add_bench_command(CLI::App& app, int* exit_code);
#ifdef FRAMESCRIBE_WITH_DECODER
void add_frames_command(CLI::App& app, int* exit_code);
void add_probe_command(CLI::App& app, int* exit_code);
void add_ask_command(CLI::App& app, int* exit_code);
void add_summarize_command(CLI::App& app, int* exit_code);
#endif
#ifdef FRAMESCRIBE_WITH_BATCH
void add_batch_command(CLI::App& app, int* exit_code);
void add_search_command(CLI::App& app, int* exit_code);
#endif
#ifdef FRAMESCRIBE_WITH_SERVE
void add_serve_command(CLI::App& app, int* exit_code);
#endif
#ifdef FRAMESCRIBE_WITH_MONITOR
void add_monitor_command(CLI::App& app, int* exit_code);
#endif

}  // namespace framescribe::apps
