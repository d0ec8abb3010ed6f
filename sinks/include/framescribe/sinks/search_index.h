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
// nothing is indexed twice. abort() writes nothing. Queries use FTS5's syntax (words, "phrases",
// prefix*, AND/OR/NOT); a malformed query throws Error(kInvalidArgument).
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
  std::string video;  // only this video (exact name) when not empty
  int limit = 100;    // at most this many hits
  std::string mark_open = "[";
  std::string mark_close = "]";
};

// Hits ordered by video, then start time.
std::vector<SearchHit> search(const std::filesystem::path& db, const std::string& query,
                              const SearchOptions& options = {});

}  // namespace framescribe::sinks
