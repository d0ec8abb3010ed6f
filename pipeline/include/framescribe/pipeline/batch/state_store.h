// The durable state of a batch: one SQLite file (WAL mode), one row per video with its status
// (pending, running, done, failed + reason), what identified its input when it was done (size,
// modification time, SHA-256) and its output files with their SHA-256.
//
//   pipeline::batch::StateStore state("out/state.sqlite");   // creates the file and schema
//   state.reset_interrupted();                 // rows left 'running' by a killed run -> pending
//   state.mark_running(video);                 // one transaction per change
//   state.mark_done(id, size, mtime_ns, sha256, outputs);   // or mark_failed(id, reason)
//   state.merge_from("out/state-shard-1-of-3.sqlite");      // batch merge
//
// Durability: every change is one IMMEDIATE transaction with synchronous=FULL, so a process
// killed at any moment leaves the file consistent and holding every change committed before.
// Several processes may open the same file (busy timeout 10 s), but shards normally write
// their own file. Thread-safe: one connection guarded by a mutex. Errors: kIo naming the file
// and SQLite's message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace framescribe::pipeline::batch {

enum class VideoStatus { kPending, kRunning, kDone, kFailed };
std::string_view to_string(VideoStatus status);

struct OutputRecord {
  std::string path;
  std::string sha256;  // 64 hex digits
  std::int64_t bytes = 0;
};

struct VideoRecord {
  std::string identity;
  std::string job;
  std::string input;
  VideoStatus status = VideoStatus::kPending;
  int attempts = 0;  // failures so far (an interrupted run does not count)
  std::string reason;
  std::int64_t size_bytes = -1;  // of the input when it was done (-1: a URL or unknown)
  std::int64_t mtime_ns = 0;
  std::string sha256;  // of the input when done ("" when not computed)
  std::string updated_at;
  std::vector<OutputRecord> outputs;
};

class StateStore {
 public:
  explicit StateStore(const std::filesystem::path& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  std::optional<VideoRecord> get(const std::string& identity) const;
  std::vector<VideoRecord> all() const;  // ordered by identity

  // Rows left 'running' (a killed process) become 'pending'; returns how many.
  int reset_interrupted();
  void mark_running(const std::string& identity, const std::string& job, const std::string& input);
  void mark_pending(const std::string& identity);
  void mark_done(const std::string& identity, std::int64_t size_bytes, std::int64_t mtime_ns,
                 const std::string& sha256, const std::vector<OutputRecord>& outputs);
  void mark_failed(const std::string& identity, const std::string& reason);
  // Refreshes the size and modification time of a done video whose content hash matched.
  void touch_input(const std::string& identity, std::int64_t size_bytes, std::int64_t mtime_ns);

  // Copies every row of another state file in (a row already here is replaced when the other
  // one is done, or is newer and not done here). One transaction.
  void merge_from(const std::filesystem::path& other);

  // "ok" or SQLite's list of problems (PRAGMA integrity_check).
  std::string integrity_check() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void exec(const char* sql) const;
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
};

}  // namespace framescribe::pipeline::batch
