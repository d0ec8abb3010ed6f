// framescribe search DB QUERY [--video X] [--json]: the events of a batch that match a full-text
// query (sinks::search over the FTS5 index that `framescribe batch` writes).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "framescribe/core/event.h"
#include "framescribe/sinks/search_index.h"

namespace framescribe::apps {
namespace {

struct SearchCommandOptions {
  std::string db;
  std::string query;
  std::string video;
  int limit = 100;
  bool json = false;
  bool fts = false;
};

int run_search(const SearchCommandOptions& o) {
  sinks::SearchOptions so;
  so.video = o.video;
  so.limit = o.limit;
  so.fts = o.fts;
  const bool tty = !o.json && isatty(STDOUT_FILENO) != 0;
  so.mark_open = tty ? "\033[1;33m" : "[";
  so.mark_close = tty ? "\033[0m" : "]";
  const std::vector<sinks::SearchHit> hits = sinks::search(o.db, o.query, so);
  if (o.json) {
    std::cout << sinks::search_hits_json(hits) << "\n";
  } else {
    for (const sinks::SearchHit& h : hits)
      std::cout << h.video << "  [" << core::format_timestamp(h.start_ns) << " - "
                << core::format_timestamp(h.end_ns) << "]  " << h.snippet << "\n";
    if (hits.empty()) std::fprintf(stderr, "no events match '%s'\n", o.query.c_str());
  }
  return hits.empty() ? 1 : 0;
}

}  // namespace

void add_search_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("search", "Search the events of a batch (its index file)");
  auto o = std::make_shared<SearchCommandOptions>();
  cmd->add_option("DB", o->db, "The batch's index file (batch.index, e.g. out/index.sqlite)")
      ->required();
  cmd->add_option("QUERY", o->query,
                  "Words to find, all of them, in any order; punctuation is plain text "
                  "(with --fts: SQLite FTS5 syntax)")
      ->required();
  cmd->add_flag("--fts", o->fts,
                "QUERY is SQLite FTS5 syntax: \"a phrase\", prefix*, AND / OR / NOT, NEAR(...)");
  cmd->add_option("--video", o->video,
                  "Only this video: the name the batch gave it, its file name (a.mp4) or its "
                  "stem (a)");
  cmd->add_option("--limit", o->limit, "At most N events")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", o->json,
                "A JSON array: video, job, start, end (s), window, text, snippet");
  cmd->footer("Exit: 0 some events matched, 1 none (or an error), 2 usage.");
  cmd->callback([o, exit_code] { *exit_code = run_search(*o); });
}

}  // namespace framescribe::apps
