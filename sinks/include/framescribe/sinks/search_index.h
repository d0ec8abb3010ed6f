// A full-text index of the events of a batch: SQLite with an FTS5 table, filled by one
// core::EventSink per video, searched by search().
//
//   sinks::SearchIndex index("out/index.sqlite");            // creates the file and table
//   auto sink = index.sink("talks/a.mp4", "talks");          // one per video run
//   sink->begin(run); sink->on_window(w); sink->finish(end); // the events land at finish
//   auto hits = sinks::search("out/index.sqlite", "red car", {.video = "talks/a.mp4"});
//   hits[0].snippet;                                         // "a [red] [car] turns left"
//
// A video's events are written in one transaction at finish(), replacing any earlier events
// of that video (a rerun, a retried failure), so a killed run never leaves half a video and
// nothing is indexed twice. abort() writes nothing. Queries are plain words by default; with
// SearchOptions::fts they use FTS5's syntax (words, "phrases", prefix*, AND/OR/NOT), and a
// malformed one throws Error(kInvalidArgument).
//
// Ownership and threads: a SearchIndex owns one connection (WAL mode) guarded by a mutex; its
// sinks may be used from different threads at once (each sink by one thread at a time, the
// EventSink contract) and must not outlive it. search() opens the file read-only. Errors:
// kIo naming the file and SQLite's message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "framescribe/core/sink.h"

struct sqlite3;

namespace framescribe::sinks {

class SearchIndex {
 public:
  explicit SearchIndex(const std::filesystem::path& path);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // The sink for one video; `video` is the name searched and shown (the input as given).
  std::unique_ptr<core::EventSink> sink(std::string video, std::string job = {});

  // Replaces this index's events of every video present in `other` with other's (merge).
  void merge_from(const std::filesystem::path& other);
  std::int64_t event_count() const;
  std::string integrity_check() const;

  // Internal (used by the sinks): replaces `video`'s events in one transaction.
  void replace_events(const std::string& video, const std::string& job,
                      const std::vector<core::Event>& events);

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
};

struct SearchHit {
  std::string video;
  std::string job;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::int64_t window_id = -1;
  std::string text;     // the whole event
  std::string snippet;  // the matching part, matches between the marks
};

struct SearchOptions {
  // Only this video when not empty: the name the batch gave it, its file name ("a.mp4") or its
  // stem ("a"), so a user can type what they see in a listing rather than the whole path.
  std::string video;
  // false: `query` is plain text, searched word by word (every word must occur; punctuation is
  // text, so "car's" or "left-turn" never raise a syntax error). true: FTS5 syntax (words,
  // "phrases", prefix*, AND/OR/NOT, NEAR), errors reported with kInvalidArgument.
  bool fts = false;
  int limit = 100;  // at most this many hits
  std::string mark_open = "[";
  std::string mark_close = "]";
};

// The FTS5 expression for a plain-text query: each whitespace-separated word as a quoted string
// (quotes doubled), so FTS5 operators and punctuation are matched as text. Empty when the query
// has no words.
std::string plain_text_query(std::string_view text);

// Whether `name` (a video as the batch named it: a path or a redacted URL) is what `wanted`
// names: the same string, its last path segment, or that segment without its extension.
bool video_matches(std::string_view name, std::string_view wanted);

// Hits ordered by video, then start time.
std::vector<SearchHit> search(const std::filesystem::path& db, const std::string& query,
                              const SearchOptions& options = {});

// `framescribe search --json`: the hits as a JSON array (indented by 2) of {video, job, start,
// end (seconds), window, text, snippet}.
std::string search_hits_json(const std::vector<SearchHit>& hits);

}  // namespace framescribe::sinks
