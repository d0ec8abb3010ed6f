// A prepared SQLite statement that finalizes itself, and a transaction that rolls back unless
// committed. Private to the batch code of the pipeline.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "framescribe/core/error.h"

namespace framescribe::pipeline::batch {

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK)
      FS_FAIL(kIo, where << ": " << sqlite3_errmsg(db) << " (in: " << sql << ")");
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  // True while there is a row; throws on error.
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    FS_FAIL(kIo, where_ << ": " << sqlite3_errmsg(db_));
  }
  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(st_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
  }
  std::int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }

 private:
  sqlite3* db_;
  std::string where_;
  sqlite3_stmt* st_ = nullptr;
};

inline void sql_exec(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    FS_FAIL(kIo, where << ": " << msg);
  }
}

class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& where) : db_(db), where_(where) {
    sql_exec(db, "BEGIN IMMEDIATE", where);
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    sql_exec(db_, "COMMIT", where_);
    done_ = true;
  }

 private:
  sqlite3* db_;
  std::string where_;
  bool done_ = false;
};

}  // namespace framescribe::pipeline::batch
