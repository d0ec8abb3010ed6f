// framescribe: video to timestamped text with Pixtral-12B.
// The composition root: parses the command line, runs one subcommand, turns errors into
// messages and exit codes (0 ok, 1 failure, 2 usage).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "framescribe/core/error.h"
#include "framescribe/core/log.h"
#include "framescribe/core/text_match.h"

namespace {

// "did you mean --max-edge?" for each argument of argv that looks like an option and that no
// option of the command being parsed (or of the app) spells: the closest names within a third
// of the argument's length (at least 2 edits), or the options it is a prefix of.
void suggest_options(const CLI::App& app, int argc, char** argv) {
  const CLI::App* cmd = &app;
  for (const CLI::App* sub : app.get_subcommands()) cmd = sub;
  std::vector<std::string> names;
  for (const CLI::App* a : {&app, cmd}) {
    for (const CLI::Option* opt : a->get_options()) {
      for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
      for (const std::string& n : opt->get_snames()) names.push_back("-" + n);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
    if (arg.size() == 2) continue;  // short flags are too short to guess from
    const std::vector<std::string> close = framescribe::core::closest_names(arg, names);
    if (close.empty()) continue;
    std::fprintf(stderr, "framescribe: unknown option %s: did you mean %s?\n", arg.c_str(),
                 framescribe::core::join_alternatives(close).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using framescribe::core::LogLevel;
  CLI::App app{
      "framescribe: turns video into timestamped text with the Pixtral-12B vision-language model.\n"
      "Run 'framescribe <command> --help' for the options of a command."};
  app.require_subcommand(1);
  // -v and -q are global: accepted before or after the command's name.
  app.fallthrough();
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
#ifdef FRAMESCRIBE_WITH_SERVE
  framescribe::apps::add_serve_command(app, &exit_code);
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
    if (code != 0) suggest_options(app, argc, argv);
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
