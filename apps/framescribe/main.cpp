// framescribe: video to timestamped text with Pixtral-12B.
// The composition root: parses the command line, runs one subcommand, turns errors into
// messages and exit codes (0 ok, 1 failure, 2 usage).
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"

int main(int argc, char** argv) {
  using framescribe::core::LogLevel;
  CLI::App app{
      "framescribe: turns video into timestamped text with the Pixtral-12B vision-language model.\n"
      "Run 'framescribe <command> --help' for the options of a command."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("framescribe ") + FRAMESCRIBE_VERSION);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Log debugging detail to stderr");
  app.add_flag("-q,--quiet", quiet, "Log only errors");
  app.parse_complete_callback([&] {
    framescribe::core::set_log_level(verbose ? LogLevel::kDebug
                                     : quiet ? LogLevel::kError
                                             : LogLevel::kInfo);
  });

  int exit_code = 0;
  framescribe::apps::add_info_command(app, &exit_code);
  framescribe::apps::add_reference_check_command(app, &exit_code);
  framescribe::apps::add_tokenize_command(app, &exit_code);
  framescribe::apps::add_bench_command(app, &exit_code);
#ifdef FRAMESCRIBE_WITH_DECODER
  framescribe::apps::add_frames_command(app, &exit_code);
  framescribe::apps::add_probe_command(app, &exit_code);
  framescribe::apps::add_ask_command(app, &exit_code);
  framescribe::apps::add_summarize_command(app, &exit_code);
#endif
#ifdef FRAMESCRIBE_WITH_BATCH
  framescribe::apps::add_batch_command(app, &exit_code);
  framescribe::apps::add_search_command(app, &exit_code);
#endif
#ifdef FRAMESCRIBE_WITH_MONITOR
  framescribe::apps::add_monitor_command(app, &exit_code);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with "success"; every other parse error is a usage
    // error, exit 2 whatever CLI11's own code for it.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const framescribe::Error& e) {
    std::fprintf(stderr, "framescribe: error (%s): %s\n",
                 std::string(framescribe::to_string(e.code())).c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "framescribe: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "framescribe: internal error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
