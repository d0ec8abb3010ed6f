// The batch state file: schema, status changes (one transaction each), merge.
#include "framescribe/pipeline/batch/state_store.h"

#include <sqlite3.h>

#include "framescribe/core/event.h"  // utc_now_iso8601
#include "sqlite_stmt.h"

namespace framescribe::pipeline::batch {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS videos(
  identity   TEXT PRIMARY KEY,
  job        TEXT NOT NULL,
  input      TEXT NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts   INTEGER NOT NULL DEFAULT 0,
  reason     TEXT NOT NULL DEFAULT '',
  size_bytes INTEGER NOT NULL DEFAULT -1,
  mtime_ns   INTEGER NOT NULL DEFAULT 0,
  sha256     TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS outputs(
  identity TEXT NOT NULL REFERENCES videos(identity) ON DELETE CASCADE,
  path     TEXT NOT NULL,
  sha256   TEXT NOT NULL,
  bytes    INTEGER NOT NULL,
  PRIMARY KEY (identity, path));
)sql";

VideoStatus parse_status(const std::string& s) {
  if (s == "running") return VideoStatus::kRunning;
  if (s == "done") return VideoStatus::kDone;
  if (s == "failed") return VideoStatus::kFailed;
  return VideoStatus::kPending;
}

constexpr const char* kSelect =
    "SELECT identity, job, input, status, attempts, reason, size_bytes, mtime_ns, sha256, "
    "updated_at FROM videos";

VideoRecord read_row(const Stmt& s) {
  VideoRecord r;
  r.identity = s.text(0);
  r.job = s.text(1);
  r.input = s.text(2);
  r.status = parse_status(s.text(3));
  r.attempts = static_cast<int>(s.int64(4));
  r.reason = s.text(5);
  r.size_bytes = s.int64(6);
  r.mtime_ns = s.int64(7);
  r.sha256 = s.text(8);
  r.updated_at = s.text(9);
  return r;
}

void read_outputs(sqlite3* db, const std::string& where, VideoRecord& r) {
  Stmt s(db, "SELECT path, sha256, bytes FROM outputs WHERE identity = ?1 ORDER BY path", where);
  s.bind(1, r.identity);
  while (s.step()) r.outputs.push_back({s.text(0), s.text(1), s.int64(2)});
}

}  // namespace

std::string_view to_string(VideoStatus status) {
  switch (status) {
    case VideoStatus::kPending:
      return "pending";
    case VideoStatus::kRunning:
      return "running";
    case VideoStatus::kDone:
      return "done";
    case VideoStatus::kFailed:
      return "failed";
  }
  return "?";
}

StateStore::StateStore(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    FS_FAIL(kIo, path.string() << ": cannot open the batch state file: " << msg);
  }
  sqlite3_busy_timeout(db_, 10'000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  exec(kSchema);
}

StateStore::~StateStore() {
  sqlite3_close(db_);
}

void StateStore::exec(const char* sql) const {
  sql_exec(db_, sql, path_.string());
}

std::optional<VideoRecord> StateStore::get(const std::string& identity) const {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string(kSelect) + " WHERE identity = ?1").c_str(), path_.string());
  s.bind(1, identity);
  if (!s.step()) return std::nullopt;
  VideoRecord r = read_row(s);
  read_outputs(db_, path_.string(), r);
  return r;
}

std::vector<VideoRecord> StateStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<VideoRecord> out;
  Stmt s(db_, (std::string(kSelect) + " ORDER BY identity").c_str(), path_.string());
  while (s.step()) out.push_back(read_row(s));
  for (VideoRecord& r : out) read_outputs(db_, path_.string(), r);
  return out;
}

int StateStore::reset_interrupted() {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_, "UPDATE videos SET status = 'pending', updated_at = ?1 WHERE status = 'running'",
         path_.string());
  s.bind(1, core::utc_now_iso8601()).step();
  const int n = sqlite3_changes(db_);
  t.commit();
  return n;
}

void StateStore::mark_running(const std::string& identity, const std::string& job,
                              const std::string& input) {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_,
         "INSERT INTO videos(identity, job, input, status, updated_at) VALUES (?1, ?2, ?3, "
         "'running', ?4) ON CONFLICT(identity) DO UPDATE SET status = 'running', input = ?3, "
         "updated_at = ?4",
         path_.string());
  s.bind(1, identity).bind(2, job).bind(3, input).bind(4, core::utc_now_iso8601()).step();
  t.commit();
}

void StateStore::mark_pending(const std::string& identity) {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_, "UPDATE videos SET status = 'pending', updated_at = ?2 WHERE identity = ?1",
         path_.string());
  s.bind(1, identity).bind(2, core::utc_now_iso8601()).step();
  t.commit();
}

void StateStore::mark_done(const std::string& identity, std::int64_t size_bytes,
                           std::int64_t mtime_ns, const std::string& sha256,
                           const std::vector<OutputRecord>& outputs) {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_,
         "UPDATE videos SET status = 'done', reason = '', size_bytes = ?2, mtime_ns = ?3, "
         "sha256 = ?4, updated_at = ?5 WHERE identity = ?1",
         path_.string());
  s.bind(1, identity)
      .bind(2, size_bytes)
      .bind(3, mtime_ns)
      .bind(4, sha256)
      .bind(5, core::utc_now_iso8601())
      .step();
  Stmt del(db_, "DELETE FROM outputs WHERE identity = ?1", path_.string());
  del.bind(1, identity).step();
  for (const OutputRecord& o : outputs) {
    Stmt ins(db_, "INSERT INTO outputs(identity, path, sha256, bytes) VALUES (?1, ?2, ?3, ?4)",
             path_.string());
    ins.bind(1, identity).bind(2, o.path).bind(3, o.sha256).bind(4, o.bytes).step();
  }
  t.commit();
}

void StateStore::mark_failed(const std::string& identity, const std::string& reason) {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_,
         "UPDATE videos SET status = 'failed', attempts = attempts + 1, reason = ?2, "
         "updated_at = ?3 WHERE identity = ?1",
         path_.string());
  s.bind(1, identity).bind(2, reason).bind(3, core::utc_now_iso8601()).step();
  t.commit();
}

void StateStore::touch_input(const std::string& identity, std::int64_t size_bytes,
                             std::int64_t mtime_ns) {
  std::lock_guard lock(mu_);
  Transaction t(db_, path_.string());
  Stmt s(db_, "UPDATE videos SET size_bytes = ?2, mtime_ns = ?3 WHERE identity = ?1",
         path_.string());
  s.bind(1, identity).bind(2, size_bytes).bind(3, mtime_ns).step();
  t.commit();
}

void StateStore::merge_from(const std::filesystem::path& other) {
  std::lock_guard lock(mu_);
  {
    Stmt a(db_, "ATTACH DATABASE ?1 AS other", path_.string());
    a.bind(1, other.string()).step();
  }
  try {
    Transaction t(db_, path_.string());
    // A row from the other file wins unless this file already has it done.
    exec(
        "INSERT INTO main.videos SELECT * FROM other.videos WHERE true "
        "ON CONFLICT(identity) DO UPDATE SET job = excluded.job, input = excluded.input, "
        "status = excluded.status, attempts = excluded.attempts, reason = excluded.reason, "
        "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
        "updated_at = excluded.updated_at WHERE main.videos.status <> 'done' OR "
        "excluded.status = 'done' AND excluded.updated_at >= main.videos.updated_at");
    exec(
        "DELETE FROM main.outputs WHERE identity IN (SELECT o.identity FROM other.outputs o "
        "JOIN main.videos v ON v.identity = o.identity AND v.updated_at = (SELECT updated_at "
        "FROM other.videos WHERE identity = o.identity))");
    exec(
        "INSERT OR REPLACE INTO main.outputs SELECT o.* FROM other.outputs o JOIN main.videos v "
        "ON v.identity = o.identity WHERE v.updated_at = (SELECT updated_at FROM other.videos "
        "WHERE identity = o.identity)");
    t.commit();
  } catch (...) {
    sqlite3_exec(db_, "DETACH DATABASE other", nullptr, nullptr, nullptr);
    throw;
  }
  exec("DETACH DATABASE other");
}

std::string StateStore::integrity_check() const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "PRAGMA integrity_check", path_.string());
  std::string out;
  while (s.step()) {
    if (!out.empty()) out.push_back('\n');
    out.append(s.text(0));
  }
  return out;
}

}  // namespace framescribe::pipeline::batch
