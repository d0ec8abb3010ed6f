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

namespace {

// Edit distance (insertions, deletions, substitutions, adjacent swaps) between two option names.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

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
    const std::size_t limit = std::max<std::size_t>(2, arg.size() / 3);
    std::size_t best = limit + 1;
    std::vector<std::string> close;
    for (const std::string& n : names) {
      if (n.size() <= 2) continue;
      std::size_t dist = edit_distance(arg, n);
      if (n.rfind(arg, 0) == 0 && arg.size() >= 4) dist = std::min<std::size_t>(dist, 1);
      if (dist < best) {
        best = dist;
        close.clear();
      }
      if (dist == best && std::find(close.begin(), close.end(), n) == close.end())
        close.push_back(n);
    }
    if (close.empty()) continue;
    std::string list;
    for (std::size_t k = 0; k < close.size(); ++k)
      list += (k == 0 ? "" : k + 1 == close.size() ? " or " : ", ") + close[k];
    std::fprintf(stderr, "framescribe: unknown option %s: did you mean %s?\n", arg.c_str(),
                 list.c_str());
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
