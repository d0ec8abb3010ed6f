// The FTS5 event index: schema, per-video replacement, merge, search.
#include "framescribe/sinks/search_index.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "framescribe/core/error.h"

namespace framescribe::sinks {
namespace {

constexpr const char* kSchema =
    "CREATE VIRTUAL TABLE IF NOT EXISTS events USING fts5(text, video UNINDEXED, job UNINDEXED, "
    "start_ns UNINDEXED, end_ns UNINDEXED, window_id UNINDEXED, tokenize = 'unicode61')";

void exec(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    FS_FAIL(kIo, where << ": " << msg);
  }
}

struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql, const std::string& where, ErrorCode code = ErrorCode::kIo) {
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
      throw Error(code, where + ": " + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  void text(int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  std::string col(int i) const {
    const unsigned char* p = sqlite3_column_text(st, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  }
};

sqlite3* open_db(const std::filesystem::path& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    FS_FAIL(kIo, path.string() << ": cannot open the search index: " << msg);
  }
  sqlite3_busy_timeout(db, 10'000);
  return db;
}

class IndexSink final : public core::EventSink {
 public:
  IndexSink(SearchIndex& index, std::string video, std::string job)
      : index_(index), video_(std::move(video)), job_(std::move(job)) {}
  std::string_view name() const override { return "index"; }
  void begin(const core::RunInfo&) override { events_.clear(); }
  void on_window(const core::WindowResult& w) override {
    events_.insert(events_.end(), w.events.begin(), w.events.end());
  }
  // Only a complete run: a stopped or failed one leaves its video not done in the state file,
  // so its events so far must not be searchable (nor merged) either; earlier ones stay.
  void finish(const core::RunEnd& end) override {
    if (end.status == core::RunStatus::kComplete) index_.replace_events(video_, job_, events_);
    events_.clear();
  }
  void abort() noexcept override { events_.clear(); }

 private:
  SearchIndex& index_;
  std::string video_, job_;
  std::vector<core::Event> events_;
};

}  // namespace

SearchIndex::SearchIndex(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  db_ = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  try {
    exec(db_, "PRAGMA journal_mode=WAL", path_.string());
    exec(db_, "PRAGMA synchronous=FULL", path_.string());
    exec(db_, kSchema, path_.string());
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SearchIndex::~SearchIndex() {
  sqlite3_close(db_);
}

std::unique_ptr<core::EventSink> SearchIndex::sink(std::string video, std::string job) {
  return std::make_unique<IndexSink>(*this, std::move(video), std::move(job));
}

void SearchIndex::replace_events(const std::string& video, const std::string& job,
                                 const std::vector<core::Event>& events) {
  std::lock_guard lock(mu_);
  exec(db_, "BEGIN IMMEDIATE", path_.string());
  try {
    Stmt del(db_, "DELETE FROM events WHERE video = ?1", path_.string());
    del.text(1, video);
    if (sqlite3_step(del.st) != SQLITE_DONE)
      FS_FAIL(kIo, path_.string() << ": " << sqlite3_errmsg(db_));
    Stmt ins(db_,
             "INSERT INTO events(text, video, job, start_ns, end_ns, window_id) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
             path_.string());
    for (const core::Event& e : events) {
      sqlite3_reset(ins.st);
      ins.text(1, e.text);
      ins.text(2, video);
      ins.text(3, job);
      sqlite3_bind_int64(ins.st, 4, e.start_ns);
      sqlite3_bind_int64(ins.st, 5, e.end_ns);
      sqlite3_bind_int64(ins.st, 6, e.window_id);
      if (sqlite3_step(ins.st) != SQLITE_DONE)
        FS_FAIL(kIo, path_.string() << ": " << sqlite3_errmsg(db_));
    }
    exec(db_, "COMMIT", path_.string());
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SearchIndex::merge_from(const std::filesystem::path& other) {
  std::lock_guard lock(mu_);
  {
    Stmt a(db_, "ATTACH DATABASE ?1 AS other", path_.string());
    a.text(1, other.string());
    if (sqlite3_step(a.st) != SQLITE_DONE)
      FS_FAIL(kIo, other.string() << ": " << sqlite3_errmsg(db_));
  }
  try {
    exec(db_, "BEGIN IMMEDIATE", path_.string());
    exec(db_,
         "DELETE FROM main.events WHERE video IN (SELECT DISTINCT video FROM other.events);"
         "INSERT INTO main.events(text, video, job, start_ns, end_ns, window_id) "
         "SELECT text, video, job, start_ns, end_ns, window_id FROM other.events ORDER BY rowid;"
         "COMMIT",
         path_.string());
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_exec(db_, "DETACH DATABASE other", nullptr, nullptr, nullptr);
    throw;
  }
  exec(db_, "DETACH DATABASE other", path_.string());
}

std::int64_t SearchIndex::event_count() const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT count(*) FROM events", path_.string());
  return sqlite3_step(s.st) == SQLITE_ROW ? sqlite3_column_int64(s.st, 0) : 0;
}

std::string SearchIndex::integrity_check() const {
  std::lock_guard lock(mu_);
  Stmt s(db_, "PRAGMA integrity_check", path_.string());
  std::string out;
  while (sqlite3_step(s.st) == SQLITE_ROW) {
    if (!out.empty()) out.push_back('\n');
    out.append(s.col(0));
  }
  return out;
}

std::string plain_text_query(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    const std::size_t begin = i;
    while (i < text.size() && !space(text[i])) ++i;
    if (i == begin) break;
    if (!out.empty()) out.push_back(' ');
    out.push_back('"');
    for (char c : text.substr(begin, i - begin)) {
      out.push_back(c);
      if (c == '"') out.push_back('"');
    }
    out.push_back('"');
  }
  return out;
}

bool video_matches(std::string_view name, std::string_view wanted) {
  if (wanted.empty()) return true;
  if (name == wanted) return true;
  std::string_view file = name;
  if (const std::size_t slash = file.find_last_of("/\\"); slash != std::string_view::npos)
    file = file.substr(slash + 1);
  if (file == wanted) return true;
  const std::size_t dot = file.rfind('.');
  return dot != std::string_view::npos && dot > 0 && file.substr(0, dot) == wanted;
}

namespace {
// fs_video_matches(video, wanted): video_matches as an SQL function, so LIMIT stays in SQL.
void sql_video_matches(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto text = [](sqlite3_value* v) {
    const unsigned char* p = sqlite3_value_text(v);
    return p == nullptr ? std::string_view{}
                        : std::string_view(reinterpret_cast<const char*>(p),
                                           static_cast<std::size_t>(sqlite3_value_bytes(v)));
  };
  sqlite3_result_int(ctx, video_matches(text(argv[0]), text(argv[1])) ? 1 : 0);
}
}  // namespace

std::vector<SearchHit> search(const std::filesystem::path& db_path, const std::string& query,
                              const SearchOptions& options) {
  std::error_code ec;
  FS_CHECK(std::filesystem::is_regular_file(db_path, ec), kNotFound,
           db_path.string() << ": no such search index (made by framescribe batch)");
  FS_CHECK(options.limit > 0, kInvalidArgument, "the hit limit must be positive");
  const std::string expression = options.fts ? query : plain_text_query(query);
  FS_CHECK(!expression.empty(), kInvalidArgument, "search: the query has no words");
  sqlite3* db = open_db(db_path, SQLITE_OPEN_READONLY);
  std::vector<SearchHit> hits;
  try {
    if (sqlite3_create_function(db, "fs_video_matches", 2,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                sql_video_matches, nullptr, nullptr) != SQLITE_OK)
      FS_FAIL(kIo, db_path.string() << ": " << sqlite3_errmsg(db));
    const std::string sql =
        std::string(
            "SELECT video, job, start_ns, end_ns, window_id, text, snippet(events, 0, ?2, ?3, "
            "'…', 16) FROM events WHERE events MATCH ?1") +
        (options.video.empty() ? "" : " AND fs_video_matches(video, ?5)") +
        " ORDER BY video, CAST(start_ns AS INTEGER), rowid LIMIT ?4";
    Stmt s(db, sql.c_str(), db_path.string());
    s.text(1, expression);
    s.text(2, options.mark_open);
    s.text(3, options.mark_close);
    sqlite3_bind_int(s.st, 4, options.limit);
    if (!options.video.empty()) s.text(5, options.video);
    for (;;) {
      const int rc = sqlite3_step(s.st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW)
        FS_FAIL(
            kInvalidArgument,
            "search '" << query << "': " << sqlite3_errmsg(db)
                       << (options.fts ? " (FTS5 syntax: words, \"a phrase\", pre*, AND, OR, NOT)"
                                       : ""));
      SearchHit h;
      h.video = s.col(0);
      h.job = s.col(1);
      h.start_ns = sqlite3_column_int64(s.st, 2);
      h.end_ns = sqlite3_column_int64(s.st, 3);
      h.window_id = sqlite3_column_int64(s.st, 4);
      h.text = s.col(5);
      h.snippet = s.col(6);
      hits.push_back(std::move(h));
    }
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
  return hits;
}

std::string search_hits_json(const std::vector<SearchHit>& hits) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const SearchHit& h : hits)
    all.push_back({{"video", h.video},
                   {"job", h.job},
                   {"start", static_cast<double>(h.start_ns) / 1e9},
                   {"end", static_cast<double>(h.end_ns) / 1e9},
                   {"window", h.window_id},
                   {"text", h.text},
                   {"snippet", h.snippet}});
  return all.dump(2);
}

}  // namespace framescribe::sinks
