// The batch state file (label unit): status changes, interrupted runs, merge, WAL and integrity.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "framescribe/core/error.h"
#include "framescribe/pipeline/batch/state_store.h"

namespace framescribe {
namespace {

namespace fs = std::filesystem;
using namespace pipeline::batch;

fs::path fresh_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("fs_batch_state_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string pragma(const fs::path& db, const char* sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, sql, -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

TEST(StateStore, StatusChanges) {
  const fs::path dir = fresh_dir("changes");
  StateStore s(dir / "state.sqlite");
  EXPECT_FALSE(s.get("j\na").has_value());
  s.mark_running("j\na", "j", "/a.mp4");
  EXPECT_EQ(s.get("j\na")->status, VideoStatus::kRunning);
  s.mark_done("j\na", 10, 20, "ab", {{"/o/a.srt", "cd", 5}, {"/o/a.jsonl", "ef", 6}});
  VideoRecord r = *s.get("j\na");
  EXPECT_EQ(r.status, VideoStatus::kDone);
  EXPECT_EQ(r.size_bytes, 10);
  EXPECT_EQ(r.mtime_ns, 20);
  EXPECT_EQ(r.sha256, "ab");
  ASSERT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(r.outputs[0].path, "/o/a.jsonl");  // ordered by path
  EXPECT_EQ(r.outputs[1].bytes, 5);

  s.mark_running("j\nb", "j", "/b.mp4");
  s.mark_failed("j\nb", "cannot open");
  s.mark_running("j\nb", "j", "/b.mp4");
  s.mark_failed("j\nb", "cannot open again");
  r = *s.get("j\nb");
  EXPECT_EQ(r.status, VideoStatus::kFailed);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.reason, "cannot open again");

  s.mark_running("j\nc", "j", "/c.mp4");
  EXPECT_EQ(s.reset_interrupted(), 1);  // a killed run's video is pending again, not failed
  r = *s.get("j\nc");
  EXPECT_EQ(r.status, VideoStatus::kPending);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(s.all().size(), 3u);
  EXPECT_EQ(s.integrity_check(), "ok");
  EXPECT_EQ(pragma(dir / "state.sqlite", "PRAGMA journal_mode"), "wal");
}

TEST(StateStore, SurvivesReopen) {
  const fs::path dir = fresh_dir("reopen");
  {
    StateStore s(dir / "state.sqlite");
    s.mark_running("x", "j", "/x");
    s.mark_done("x", 1, 2, "h", {});
  }
  StateStore s(dir / "state.sqlite");
  EXPECT_EQ(s.get("x")->status, VideoStatus::kDone);
}

TEST(StateStore, MergeShards) {
  const fs::path dir = fresh_dir("merge");
  {
    StateStore a(dir / "state-shard-0-of-2.sqlite");
    a.mark_running("a", "j", "/a");
    a.mark_done("a", 1, 1, "ha", {{"/o/a.srt", "sa", 3}});
    a.mark_running("c", "j", "/c");
    a.mark_failed("c", "broken");
    StateStore b(dir / "state-shard-1-of-2.sqlite");
    b.mark_running("b", "j", "/b");
    b.mark_done("b", 2, 2, "hb", {{"/o/b.srt", "sb", 4}});
  }
  StateStore m(dir / "state.sqlite");
  m.merge_from(dir / "state-shard-0-of-2.sqlite");
  m.merge_from(dir / "state-shard-1-of-2.sqlite");
  m.merge_from(dir / "state-shard-1-of-2.sqlite");  // idempotent
  const std::vector<VideoRecord> all = m.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].identity, "a");
  EXPECT_EQ(all[0].outputs.size(), 1u);
  EXPECT_EQ(all[1].status, VideoStatus::kDone);
  EXPECT_EQ(all[1].outputs.at(0).sha256, "sb");
  EXPECT_EQ(all[2].status, VideoStatus::kFailed);
  EXPECT_EQ(m.integrity_check(), "ok");
}

TEST(StateStore, UnwritableFileIsAnIoError) {
  EXPECT_THROW(StateStore("/proc/no/such/dir/state.sqlite"), Error);
}

}  // namespace
}  // namespace framescribe
