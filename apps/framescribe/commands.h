// Subcommands of the framescribe CLI. Each add_*_command registers its options on the app and
// sets the callback that runs it; the callback stores its exit status in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace framescribe::apps {

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
#ifdef FRAMESCRIBE_WITH_MONITOR
void add_monitor_command(CLI::App& app, int* exit_code);
#endif

}  // namespace framescribe::apps
